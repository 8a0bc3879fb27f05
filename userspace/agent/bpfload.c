/* bpfload.c — opens the skeleton, sets rodata, loads, attaches with BPF links and pins them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfload.h"
#include "log.h"
#include "prefix.h"
#include "s46.skel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#define BPFLOAD_FS_MAGIC 0xcafe4a11
#define BPFLOAD_NPROGS 10

struct bpfload_cg {
	uint64_t id;
	bool pinned;
	struct bpf_link *links[BPFLOAD_NPROGS];
	struct bpfload_cg *next;
};

struct bpfload {
	struct s46_bpf *skel;
	/* s46_udp_dst mapped read-only: the forwarder reads a datagram's destination without a
	 * system call (NULL if the kernel would not map it: then bpf_map_lookup_elem). */
	const struct s46_dst *udp_dst;
	/* Releases of forwarded sockets (s46_udp_end), NULL without cgroup/sock_release. */
	struct ring_buffer *udp_end;
	bpfload_udp_end_cb *end_fn;
	void *end_arg;
	char end_missing[320]; /* why releases are not told, "" when they are */
	struct bpfload_config cfg;
	char *pin_dir;
	struct bpfload_cg *cgs;
};

/* What each program needs beyond the previous ones, for the refusal message. */
static const struct {
	const char *prog, *needs;
} bpfload_needs[] = {
    {"s46_connect4", "cgroup/connect4 with bpf_get_netns_cookie and sk storage (Linux 5.7+)"},
    {"s46_connect6", "cgroup/connect6 with bpf_get_netns_cookie and sk storage (Linux 5.7+)"},
    {"s46_sendmsg4", "cgroup/sendmsg4 with bpf_getsockopt (Linux 5.12+)"},
    {"s46_sendmsg6", "cgroup/sendmsg6 with bpf_getsockopt (Linux 5.12+)"},
    {"s46_recvmsg4", "cgroup/recvmsg4 (Linux 5.7+)"},
    {"s46_recvmsg6", "cgroup/recvmsg6 (Linux 5.7+)"},
    {"s46_getpeername4", "cgroup/getpeername4 (Linux 5.8+)"},
    {"s46_getpeername6", "cgroup/getpeername6 (Linux 5.8+)"},
    {"s46_sockops", "sock_ops with sk storage access (Linux 5.10+)"},
    /* Optional: without it UDP flows end at their idle timeout (bpfload_udp_end_missing). */
    {"s46_sock_release", "cgroup/sock_release with sk storage and a ring buffer (Linux 5.11+)"},
};

static int bpfload_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Verifier logs come through here in one piece. */
	char buf[16384];
	size_t n;

	if (level == LIBBPF_DEBUG || log_get_level() < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	log_debug("libbpf: %s", buf);
	return 0;
}

int bpfload_netns_cookie(uint64_t *out)
{
	socklen_t len = sizeof(*out);
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, out, &len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void bpfload_set_rodata(struct s46_bpf *skel, const struct bpfload_config *cfg)
{
	struct s46_cfg *c = (struct s46_cfg *)&skel->rodata->s46_cfg;

	memset(c, 0, sizeof(*c));
	c->mark = cfg->mark;
	c->nexempt = cfg->nexempt < S46_EXEMPT_MAX ? cfg->nexempt : S46_EXEMPT_MAX;
	memcpy(c->exempt_uids, cfg->exempt_uids, c->nexempt * sizeof(c->exempt_uids[0]));
	c->proxy_port = htons(cfg->proxy_port);
	c->dns_port = htons(cfg->dns_port);
	c->udp_port = htons(cfg->udp_port);
	prefix_mask((uint8_t *)&c->mask4, 4, cfg->prefix4);
	c->pool4 = cfg->pool4.s_addr & c->mask4;
	prefix_mask(c->mask6, 16, cfg->prefix6);
	for (unsigned i = 0; i < 16; i++)
		c->pool6[i] = cfg->pool6.s6_addr[i] & c->mask6[i];
	c->flags = (cfg->no_dns ? S46_CFG_NO_DNS : 0) | (cfg->udp6 ? S46_CFG_UDP6 : 0);
}

/* Loads the object with only program `only` (-1: none, maps alone); 0 or -errno. */
static int bpfload_try(const struct bpfload_config *cfg, int only)
{
	struct s46_bpf *skel = s46_bpf__open();
	struct bpf_program *prog;
	int i = 0, err;

	if (!skel)
		return -errno;
	bpfload_set_rodata(skel, cfg);
	bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, i++ == only);
	err = s46_bpf__load(skel);
	s46_bpf__destroy(skel);
	return err;
}

/* Debian's libbpf helper probes are unreliable on new kernels: probe by loading the real
 * programs one at a time and name the first one the kernel rejects. */
static void bpfload_explain(const struct bpfload_config *cfg, int err, char *msg, size_t len)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	if (bpfload_try(cfg, -1)) {
		snprintf(msg, len,
			 "kernel %s lacks the BPF maps socks46 needs (sk storage, LPM trie: "
			 "Linux 5.2+)",
			 u.release);
		return;
	}
	for (int i = 0; i < BPFLOAD_NPROGS; i++) {
		if (bpfload_try(cfg, i)) {
			snprintf(msg, len, "kernel %s lacks %s", u.release, bpfload_needs[i].needs);
			return;
		}
	}
	snprintf(msg, len, "kernel %s: loading the BPF programs failed: %s", u.release,
		 strerror(-err));
}

/*
 * Without CAP_PERFMON the verifier also walks mispredicted branches (Spectre v1) and
 * rejects what it cannot prove safe there; kernels differ in what they can prove.
 */
static bool bpfload_has_perfmon(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capget, &h, d) < 0)
		return true; /* cannot tell: let the generic explanation speak */
	return d[CAP_PERFMON / 32].effective & (1u << (CAP_PERFMON % 32));
}

#define BPFLOAD_UDP_DST_LEN ((size_t)S46_UDP_SLOTS * sizeof(struct s46_dst))
/* A mapped array's elements are 8-byte aligned. */
_Static_assert(sizeof(struct s46_dst) % 8 == 0, "s46_dst is indexable in the mapped array");

static void bpfload_map_udp_dst(struct bpfload *b)
{
	void *p = mmap(NULL, BPFLOAD_UDP_DST_LEN, PROT_READ, MAP_SHARED,
		       bpf_map__fd(b->skel->maps.s46_udp_dst), 0);

	b->udp_dst = p == MAP_FAILED ? NULL : p;
}

/* Opens, configures and loads the object, with cgroup/sock_release or without. 0, -EBADF when
 * the object cannot be opened, or the load's -errno. */
static int bpfload_load(struct bpfload *b, const struct bpfload_config *cfg, bool release)
{
	s46_bpf__destroy(b->skel);
	b->skel = s46_bpf__open();
	if (!b->skel)
		return -EBADF;
	bpfload_set_rodata(b->skel, cfg);
	if (!release)
		bpf_program__set_autoload(b->skel->progs.s46_sock_release, false);
	return s46_bpf__load(b->skel);
}

static int bpfload_udp_end_sample(void *ctx, void *data, size_t len)
{
	struct bpfload *b = ctx;

	if (len >= sizeof(struct s46_udp_end) && b->end_fn)
		b->end_fn(data, b->end_arg);
	return 0;
}

static int bpfload_open_udp_end(struct bpfload *b)
{
	if (b->end_missing[0])
		return 0;
	b->udp_end = ring_buffer__new(bpf_map__fd(b->skel->maps.s46_udp_end),
				      bpfload_udp_end_sample, b, NULL);
	return b->udp_end ? 0 : -errno;
}

int bpfload_open(struct bpfload **out, const struct bpfload_config *cfg, char *errmsg,
		 size_t errlen)
{
	struct bpfload *b;
	int err;

	libbpf_set_print(bpfload_print);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	if (cfg->pin_dir) {
		b->pin_dir = strdup(cfg->pin_dir);
		if (!b->pin_dir) {
			err = -ENOMEM;
			goto fail;
		}
		b->cfg.pin_dir = b->pin_dir;
	}
	err = bpfload_load(b, cfg, true);
	/* cgroup/sock_release is optional: flows then end at their idle timeout. */
	if (err && err != -EPERM && err != -ENOMEM && !bpfload_load(b, cfg, false)) {
		struct utsname u;

		if (uname(&u) < 0)
			snprintf(u.release, sizeof(u.release), "unknown");
		snprintf(b->end_missing, sizeof(b->end_missing),
			 "kernel %s lacks %s: a UDP flow ends at its idle timeout, not when the "
			 "program closes its socket",
			 u.release, bpfload_needs[BPFLOAD_NPROGS - 1].needs);
		err = 0;
	}
	if (err == -EBADF) {
		snprintf(errmsg, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	if (err) {
		if (err == -EPERM)
			snprintf(errmsg, errlen,
				 "loading BPF programs needs root (CAP_BPF, "
				 "CAP_NET_ADMIN, CAP_PERFMON)");
		else if (err == -EACCES && !bpfload_has_perfmon())
			snprintf(errmsg, errlen,
				 "the kernel's verifier refused the BPF programs without "
				 "CAP_PERFMON (it then also checks mispredicted branches): "
				 "run the agent with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON");
		else
			bpfload_explain(cfg, err, errmsg, errlen);
		goto fail;
	}
	err = bpfload_netns_add(b, cfg->netns_cookie, cfg->netns_inode);
	if (err) {
		snprintf(errmsg, errlen, "serving the agent's namespace: %s", strerror(-err));
		goto fail;
	}
	bpfload_map_udp_dst(b);
	err = bpfload_open_udp_end(b);
	if (err) {
		snprintf(errmsg, errlen, "the s46_udp_end ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = b;
	return 0;
fail:
	bpfload_close(b);
	return err;
}

static void bpfload_cg_free(struct bpfload_cg *cg, bool force_detach)
{
	for (int i = 0; i < BPFLOAD_NPROGS; i++) {
		if (!cg->links[i])
			continue;
		if (force_detach && cg->pinned)
			bpf_link__unpin(cg->links[i]);
		bpf_link__destroy(cg->links[i]);
	}
	free(cg);
}

void bpfload_close(struct bpfload *b)
{
	if (!b)
		return;
	/* Pinned links stay attached: the cgroup keeps failing fast until `detach`. */
	while (b->cgs) {
		struct bpfload_cg *cg = b->cgs;

		b->cgs = cg->next;
		bpfload_cg_free(cg, false);
	}
	if (b->udp_dst)
		munmap((void *)b->udp_dst, BPFLOAD_UDP_DST_LEN);
	ring_buffer__free(b->udp_end);
	s46_bpf__destroy(b->skel);
	free(b->pin_dir);
	free(b);
}

int bpfload_cgroup_id(const char *path, uint64_t *id)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs) < 0 || stat(path, &st) < 0)
		return -errno;
	if (sfs.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */)
		return -ENOTDIR;
	*id = st.st_ino;
	return 0;
}

static bool bpfload_on_bpffs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == BPFLOAD_FS_MAGIC;
}

/* Makes sure pin_dir exists on a bpffs; mounts one on /sys/fs/bpf if nothing is there. */
static int bpfload_pin_dir_ready(const char *dir)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!bpfload_on_bpffs(parent) && !strcmp(parent, "/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
			return -errno;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return bpfload_on_bpffs(dir) ? 0 : -EMEDIUMTYPE;
}

static int bpfload_rmtree(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
			unlink(p);
	}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

/* Removes pin directories of cgid; netns 0 matches every namespace's agent. */
static int bpfload_unpin_ns(const char *pin_dir, uint64_t netns, uint64_t cgid)
{
	char want[48], p[PATH_MAX];
	struct dirent *de;
	size_t wl, nl;
	int n = 0;
	DIR *d = opendir(pin_dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	if (netns)
		wl = (size_t)snprintf(want, sizeof(want), "%llu-%llu", (unsigned long long)netns,
				      (unsigned long long)cgid);
	else
		wl = (size_t)snprintf(want, sizeof(want), "-%llu", (unsigned long long)cgid);
	while ((de = readdir(d))) {
		nl = strlen(de->d_name);
		if (netns ? strcmp(de->d_name, want)
			  : nl <= wl || strcmp(de->d_name + nl - wl, want))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", pin_dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (!bpfload_rmtree(p))
			n++;
	}
	closedir(d);
	return n;
}

int bpfload_unpin(const char *pin_dir, uint64_t cgid)
{
	return bpfload_unpin_ns(pin_dir, 0, cgid);
}

/* Whether the links pinned in dir lost their cgroup (it was removed): a cgroup link reports
 * cgroup id 0 once the cgroup is gone. */
static bool bpfload_pins_defunct(const char *dir)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char p[PATH_MAX];
	bool defunct = false;
	int fd;

	if (snprintf(p, sizeof(p), "%s/s46_connect4", dir) >= (int)sizeof(p))
		return false;
	fd = bpf_obj_get(p);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP)
		defunct = info.cgroup.cgroup_id == 0;
	close(fd);
	return defunct;
}

int bpfload_sweep(const char *pin_dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(pin_dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", pin_dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (bpfload_pins_defunct(p) && !bpfload_rmtree(p))
			n++;
	}
	closedir(d);
	return n;
}

/* Pins every link of cg; a link pinned earlier (by an agent that has exited) is replaced,
 * which detaches the old program once nothing else holds it. */
static int bpfload_pin(struct bpfload *b, struct bpfload_cg *cg)
{
	char dir[PATH_MAX], p[PATH_MAX + 64];
	int err, i = 0;
	struct bpf_program *prog;

	err = bpfload_pin_dir_ready(b->pin_dir);
	if (err)
		return err;
	bpfload_unpin_ns(b->pin_dir, b->cfg.netns_cookie, cg->id);
	snprintf(dir, sizeof(dir), "%s/%llu-%llu", b->pin_dir,
		 (unsigned long long)b->cfg.netns_cookie, (unsigned long long)cg->id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	bpf_object__for_each_program(prog, b->skel->obj)
	{
		if (!cg->links[i]) {
			i++;
			continue;
		}
		if (snprintf(p, sizeof(p), "%s/%s", dir, bpf_program__name(prog)) >= (int)sizeof(p))
			return -ENAMETOOLONG;
		err = bpf_link__pin(cg->links[i++], p);
		if (err)
			return err;
	}
	cg->pinned = true;
	return 0;
}

static struct bpfload_cg **bpfload_find(struct bpfload *b, uint64_t id);

void bpfload_foreign_pins(struct bpfload *b, bpfload_pin_cb *fn, void *arg)
{
	unsigned long long netns, id;
	struct dirent *de;
	DIR *d;
	int n;

	if (!b->pin_dir || !(d = opendir(b->pin_dir)))
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "%llu-%llu%n", &netns, &id, &n) != 2 || de->d_name[n] ||
		    netns != b->cfg.netns_cookie || bpfload_find(b, id))
			continue;
		fn(id, arg);
	}
	closedir(d);
}

static struct bpfload_cg **bpfload_find(struct bpfload *b, uint64_t id)
{
	struct bpfload_cg **pp;

	for (pp = &b->cgs; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return NULL;
}

int bpfload_attach(struct bpfload *b, const char *path)
{
	struct bpf_program *prog;
	struct bpfload_cg *cg;
	int fd, err, i = 0;
	uint64_t id;

	err = bpfload_cgroup_id(path, &id);
	if (err)
		return err;
	if (bpfload_find(b, id))
		return -EALREADY;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->id = id;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	bpf_object__for_each_program(prog, b->skel->obj)
	{
		/* Not loaded (cgroup/sock_release on a kernel without it): nothing to attach. */
		if (bpf_program__fd(prog) < 0) {
			i++;
			continue;
		}
		cg->links[i] = bpf_program__attach_cgroup(prog, fd);
		if (!cg->links[i]) {
			err = -errno;
			goto fail;
		}
		i++;
	}
	/* Links an agent of this namespace that exited left pinned would run first and record
	 * destinations in maps this agent does not read: replace them (pinned here) or drop
	 * them. Agents of other namespaces keep theirs: they never act on our sockets. */
	if (!b->pin_dir)
		bpfload_unpin_ns(BPFLOAD_PIN_DIR_DEFAULT, b->cfg.netns_cookie, id);
	if (b->pin_dir) {
		err = bpfload_pin(b, cg);
		if (err)
			log_warnx(
			    "%s: not pinned under %s (%s): after the agent exits, connects to "
			    "fake addresses fail as unreachable",
			    path, b->pin_dir, strerror(-err));
	}
	cg->next = b->cgs;
	b->cgs = cg;
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	bpfload_cg_free(cg, true);
	return err;
}

int bpfload_detach_id(struct bpfload *b, uint64_t id)
{
	struct bpfload_cg **pp = bpfload_find(b, id), *cg;

	if (!pp) {
		/* Links an earlier agent pinned for this cgroup go as well. */
		if (b->pin_dir && bpfload_unpin_ns(b->pin_dir, b->cfg.netns_cookie, id) > 0)
			return 0;
		return -ENOENT;
	}
	cg = *pp;
	*pp = cg->next;
	bpfload_cg_free(cg, true);
	if (b->pin_dir)
		bpfload_unpin_ns(b->pin_dir, b->cfg.netns_cookie, id);
	return 0;
}

int bpfload_detach(struct bpfload *b, const char *path)
{
	uint64_t id;
	int err = bpfload_cgroup_id(path, &id);

	return err ? err : bpfload_detach_id(b, id);
}

bool bpfload_pinned(struct bpfload *b, uint64_t id)
{
	struct bpfload_cg **pp = bpfload_find(b, id);

	return pp && (*pp)->pinned;
}

int bpfload_policy_add(struct bpfload *b, int af, const void *addr, unsigned prefix)
{
	struct s46_policy_key k = {0};
	uint8_t one = 1;

	if (af == AF_INET) {
		if (prefix > 32)
			return -EINVAL;
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		memcpy(k.addr + 12, addr, 4);
		k.prefixlen = 96 + prefix;
	} else if (af == AF_INET6) {
		if (prefix > 128)
			return -EINVAL;
		memcpy(k.addr, addr, 16);
		k.prefixlen = prefix;
	} else {
		return -EAFNOSUPPORT;
	}
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.s46_policy), &k, &one, BPF_ANY))
		return -errno;
	return 0;
}

int bpfload_conn_take(struct bpfload *b, const struct s46_conn_key *k, struct s46_conn_val *v)
{
	int fd = bpf_map__fd(b->skel->maps.s46_conn);

	/* One syscall on 5.14+ (hash maps); two before. */
	if (!bpf_map_lookup_and_delete_elem(fd, k, v))
		return 0;
	if (errno == ENOENT)
		return -ENOENT;
	if (bpf_map_lookup_elem(fd, k, v))
		return -errno;
	bpf_map_delete_elem(fd, k);
	return 0;
}

int bpfload_netns_add(struct bpfload *b, uint64_t cookie, uint32_t inode)
{
	struct s46_netns_val v = {.inode = inode};

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.s46_netns), &cookie, &v, BPF_ANY))
		return -errno;
	return 0;
}

/* Deletes the s46_conn entries of namespace cookie (connections never accepted). */
static void bpfload_conn_forget(struct bpfload *b, uint64_t cookie)
{
	int fd = bpf_map__fd(b->skel->maps.s46_conn);
	struct s46_conn_key k, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		if (k.netns_cookie == cookie && !bpf_map_delete_elem(fd, &k)) {
			prev = NULL; /* deleted: start over rather than follow a stale key */
			continue;
		}
		prev = &k;
	}
}

int bpfload_netns_del(struct bpfload *b, uint64_t cookie)
{
	int err = 0;

	if (bpf_map_delete_elem(bpf_map__fd(b->skel->maps.s46_netns), &cookie))
		err = -errno;
	bpfload_conn_forget(b, cookie);
	return err;
}

int bpfload_udp_dst(struct bpfload *b, uint32_t n, struct s46_dst *d)
{
	if (n >= S46_UDP_SLOTS)
		return -ENOENT;
	/* A datagram is steered after its slot is written, so the slot is complete by the time
	 * the forwarder reads it. */
	if (b->udp_dst)
		*d = b->udp_dst[n];
	else if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.s46_udp_dst), &n, d))
		return -errno;
	return d->kind == S46_KIND_UDP ? 0 : -ENOENT;
}

long bpfload_conn_count(struct bpfload *b)
{
	int fd = bpf_map__fd(b->skel->maps.s46_conn);
	struct s46_conn_key k, next;
	long n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

int bpfload_stats(struct bpfload *b, uint64_t out[S46_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(b->skel->maps.s46_stats);
	uint64_t *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < S46_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int bpfload_udp_end_fd(struct bpfload *b)
{
	return b->udp_end ? ring_buffer__epoll_fd(b->udp_end) : -1;
}

int bpfload_udp_end_read(struct bpfload *b, bpfload_udp_end_cb *fn, void *arg)
{
	int n;

	if (!b->udp_end)
		return 0;
	b->end_fn = fn;
	b->end_arg = arg;
	n = ring_buffer__consume(b->udp_end);
	b->end_fn = NULL;
	return n;
}

const char *bpfload_udp_end_missing(const struct bpfload *b)
{
	return b->end_missing[0] ? b->end_missing : NULL;
}
