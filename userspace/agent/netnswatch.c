/* netnswatch.c — which network namespaces the agent serves: discovery, policy, clean-up. */
#include "netnswatch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "addr.h"
#include "agent.h"
#include "ev.h"
#include "json.h"
#include "list.h"
#include "log.h"
#include "netns.h"
#include "optin.h"
#include "redirect.h"

#define NETNSWATCH_POLICY_MAX 64
#define NETNSWATCH_FAILED_MAX 64

enum netnswatch_mode { NETNSWATCH_ALL, NETNSWATCH_OWN, NETNSWATCH_LIST };

#define NETNSWATCH_NOCAP "entering another network namespace (setns) needs CAP_SYS_ADMIN"

/* A namespace served (ns; NULL for the agent's own) and what the last scan saw in it. */
struct netnswatch_ns {
	struct list_head link;
	struct netns *ns;
	uint32_t inode;
	bool seen;
	int pids[NETNSWATCH_PIDS_MAX];
	unsigned npids, nprocs;
	char *cgroups[NETNSWATCH_CGROUPS_MAX];
	unsigned ncgroups;
};

/* A namespace that could not be served: logged once, tried again each scan. */
struct netnswatch_failed {
	uint32_t inode;
	char msg[256];
};

struct netnswatch {
	struct agent *a;
	enum netnswatch_mode mode;
	bool nocap; /* no CAP_SYS_ADMIN: only the agent's namespace is served */
	char *policy[NETNSWATCH_POLICY_MAX]; /* NETNSWATCH_LIST: paths of namespaces */
	unsigned npolicy;
	uint32_t allowed[NETNSWATCH_POLICY_MAX]; /* their inodes at this scan, 0: none */
	struct netnswatch_ns own;
	struct list_head served;
	struct netnswatch_failed failed[NETNSWATCH_FAILED_MAX], was[NETNSWATCH_FAILED_MAX];
	unsigned nfailed, nwas;
	struct ev_timer timer;
	int ifd; /* inotify: cgroups made, cgroup.events changed (a process joined) */
};

/* Splits a policy into w (NULL: only checks it). 0, or -EINVAL with one line in err. */
static int netnswatch_parse(struct netnswatch *w, const char *policy, char *err, size_t errlen)
{
	char *copy, *tok, *save = NULL;
	unsigned n = 0;
	int rc = 0;

	if (!policy || !strcmp(policy, "all") || !strcmp(policy, "own")) {
		if (w)
			w->mode =
			    policy && !strcmp(policy, "own") ? NETNSWATCH_OWN : NETNSWATCH_ALL;
		return 0;
	}
	copy = strdup(policy);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++) {
		char path[PATH_MAX];

		if (n == NETNSWATCH_POLICY_MAX || !*tok || (tok[0] != '/' && strchr(tok, '/'))) {
			snprintf(err, errlen,
				 "netns-policy: '%s' is not all, own or a list of at most %d "
				 "namespace names (/run/netns/NAME) or absolute paths",
				 policy, NETNSWATCH_POLICY_MAX);
			rc = -EINVAL;
			break;
		}
		snprintf(path, sizeof(path), "%s%s", tok[0] == '/' ? "" : "/run/netns/", tok);
		if (w && !(w->policy[w->npolicy++] = strdup(path))) {
			rc = -ENOMEM;
			break;
		}
	}
	if (!rc && !n) {
		snprintf(err, errlen, "netns-policy: empty list");
		rc = -EINVAL;
	}
	if (w)
		w->mode = NETNSWATCH_LIST;
	free(copy);
	return rc;
}

int netnswatch_policy_check(const char *policy, char *err, size_t errlen)
{
	return netnswatch_parse(NULL, policy, err, errlen);
}

/* The inode of the initial network namespace (init_net), the same on every kernel since 3.8
 * (PROC_NET_INIT_INO). */
#define NETNSWATCH_INIT_INO 0xEFFFFFF9u

/* Whether the policy serves namespace inode. The host's namespace (init_net) is no container:
 * an agent running in another namespace serves it only when the policy names it, never
 * because a process in an attached cgroup happens to be there (one on its way into a
 * container's namespace, say), which would add listeners and a route to the host. */
static bool netnswatch_allowed(const struct netnswatch *w, uint32_t inode)
{
	if (w->mode != NETNSWATCH_LIST)
		return w->mode == NETNSWATCH_ALL && inode != NETNSWATCH_INIT_INO;
	for (unsigned i = 0; i < w->npolicy; i++)
		if (w->allowed[i] == inode)
			return true;
	return false;
}

static void netnswatch_forget_seen(struct netnswatch_ns *e)
{
	for (unsigned i = 0; i < e->ncgroups; i++)
		free(e->cgroups[i]);
	e->ncgroups = e->npids = e->nprocs = 0;
	e->seen = false;
}

static struct netnswatch_ns *netnswatch_find(struct netnswatch *w, uint32_t inode)
{
	struct netnswatch_ns *e;

	if (inode == w->own.inode)
		return &w->own;
	list_for_each_entry(e, &w->served, link) if (e->inode == inode) return e;
	return NULL;
}

static struct netnswatch_failed *netnswatch_failure(struct netnswatch_failed *v, unsigned n,
						    uint32_t inode)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i].inode == inode)
			return &v[i];
	return NULL;
}

/* Remembers why inode could not be served; says it once while it keeps failing. */
static void netnswatch_fail(struct netnswatch *w, uint32_t inode, int pid, const char *why)
{
	struct netnswatch_failed *f;

	if (netnswatch_failure(w->failed, w->nfailed, inode) || w->nfailed == NETNSWATCH_FAILED_MAX)
		return;
	f = &w->failed[w->nfailed++];
	f->inode = inode;
	snprintf(f->msg, sizeof(f->msg), "network namespace inode %u (pid %d): %s", inode, pid,
		 why);
	if (!netnswatch_failure(w->was, w->nwas, inode))
		log_warnx("cannot serve %s; its sockets are left alone", f->msg);
}

/* Where the namespace's names that are not faked go, as its processes see it now (a
 * runtime's hook runs before the container's root is in place: the next scan corrects). */
static void netnswatch_resolver(struct netnswatch_ns *e, int pid)
{
	char buf[ADDR_STRLEN];
	const struct sockaddr_storage *up;
	bool own;

	if (!netns_set_resolver(e->ns, pid))
		return;
	up = netns_resolver(e->ns, &own);
	log_info("network namespace inode %u: names not faked go to %s (%s)", e->inode,
		 addr_format((const struct sockaddr *)up, buf, sizeof(buf)),
		 own ? "its own resolv.conf, asked from inside it" : "the agent's resolver");
}

/* Serves the namespace of pid (inode as seen by stat). NULL when it cannot. */
static struct netnswatch_ns *netnswatch_serve(struct netnswatch *w, int pid, uint32_t inode)
{
	struct netnswatch_ns *e;
	char path[64], err[256] = "";
	struct stat st;
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT && errno != ESRCH)
			netnswatch_fail(w, inode, pid, strerror(errno));
		return NULL;
	}
	/* The process may have moved on (or its pid been reused) since the stat. */
	if (fstat(fd, &st) < 0 || (uint32_t)st.st_ino != inode) {
		close(fd);
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	rc = e ? netns_new(&e->ns, w->a, fd, err, sizeof(err)) : -ENOMEM;
	close(fd);
	if (rc) {
		free(e);
		netnswatch_fail(w, inode, pid, err[0] ? err : strerror(-rc));
		return NULL;
	}
	e->inode = inode;
	list_add(&e->link, &w->served);
	log_info("serving network namespace inode %u (cookie %llu) of pid %d", inode,
		 (unsigned long long)netns_cookie(e->ns), pid);
	netnswatch_resolver(e, pid);
	return e;
}

/* One process of an attached cgroup (path). */
static void netnswatch_pid(struct netnswatch *w, int pid, const char *cgroup)
{
	struct netnswatch_ns *e;
	char path[64];
	struct stat st;
	unsigned i;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st) < 0)
		return;
	e = netnswatch_find(w, (uint32_t)st.st_ino);
	if (!e && netnswatch_allowed(w, (uint32_t)st.st_ino) &&
	    !netnswatch_failure(w->failed, w->nfailed, (uint32_t)st.st_ino))
		e = netnswatch_serve(w, pid, (uint32_t)st.st_ino);
	if (!e)
		return;
	e->seen = true;
	e->nprocs++;
	if (e->npids < NETNSWATCH_PIDS_MAX)
		e->pids[e->npids++] = pid;
	for (i = 0; i < e->ncgroups; i++)
		if (!strcmp(e->cgroups[i], cgroup))
			return;
	if (e->ncgroups < NETNSWATCH_CGROUPS_MAX && (e->cgroups[e->ncgroups] = strdup(cgroup)))
		e->ncgroups++;
}

/* The processes of cgroup path and of every cgroup below it. */
static void netnswatch_walk(struct netnswatch *w, const char *path, unsigned depth)
{
	char sub[PATH_MAX];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int pid;

	/* Already watched inodes keep their watch; removed cgroups drop theirs. */
	if (w->ifd >= 0) {
		inotify_add_watch(w->ifd, path, IN_CREATE | IN_ONLYDIR);
		snprintf(sub, sizeof(sub), "%s/cgroup.events", path);
		inotify_add_watch(w->ifd, sub, IN_MODIFY);
	}
	snprintf(sub, sizeof(sub), "%s/cgroup.procs", path);
	f = fopen(sub, "re");
	if (f) {
		while (fscanf(f, "%d", &pid) == 1)
			netnswatch_pid(w, pid, path);
		fclose(f);
	}
	if (depth > 32 || !(d = opendir(path)))
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
		    snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) < (int)sizeof(sub))
			netnswatch_walk(w, sub, depth + 1);
	closedir(d);
}

struct netnswatch_paths {
	char *v[2 * 64];
	unsigned n;
};

static void netnswatch_optin_cb(const struct optin_info *in, void *arg)
{
	struct netnswatch_paths *p = arg;

	if (in->cgroup && p->n < sizeof(p->v) / sizeof(p->v[0]) &&
	    (p->v[p->n] = strdup(in->cgroup)))
		p->n++;
}

/* Whether path lies below another attached cgroup (walked with it). */
static bool netnswatch_nested(const struct netnswatch_paths *p, unsigned i)
{
	for (unsigned j = 0; j < p->n; j++) {
		size_t n = strlen(p->v[j]);

		if (j != i && !strncmp(p->v[i], p->v[j], n) &&
		    (p->v[i][n] == '/' || (!p->v[i][n] && j < i)))
			return true;
	}
	return false;
}

/* Served namespaces the scan found no process of go. */
static void netnswatch_reap(struct netnswatch *w)
{
	struct netnswatch_ns *e;
	struct list_head *pos = w->served.next;

	while (pos != &w->served) {
		e = list_entry(pos, struct netnswatch_ns, link);
		pos = pos->next;
		if (e->seen && netnswatch_allowed(w, e->inode))
			continue;
		log_info("network namespace inode %u (cookie %llu): %s; no longer served", e->inode,
			 (unsigned long long)netns_cookie(e->ns),
			 e->seen ? "the netns policy leaves it out"
				 : "no process of the attached "
				   "cgroups is in it");
		list_del(&e->link);
		netnswatch_forget_seen(e);
		netns_free(e->ns);
		free(e);
	}
}

void netnswatch_scan(struct netnswatch *w)
{
	struct netnswatch_paths p = {.n = 0};
	struct netnswatch_ns *e;
	struct stat st;

	netnswatch_forget_seen(&w->own);
	list_for_each_entry(e, &w->served, link) netnswatch_forget_seen(e);
	for (unsigned i = 0; i < w->npolicy; i++)
		w->allowed[i] = stat(w->policy[i], &st) ? 0 : (uint32_t)st.st_ino;
	memcpy(w->was, w->failed, w->nfailed * sizeof(w->failed[0]));
	w->nwas = w->nfailed;
	w->nfailed = 0;
	optin_walk(w->a->optin, netnswatch_optin_cb, &p);
	for (unsigned i = 0; i < p.n; i++)
		if (!netnswatch_nested(&p, i))
			netnswatch_walk(w, p.v[i], 0);
	for (unsigned i = 0; i < p.n; i++)
		free(p.v[i]);
	netnswatch_reap(w);
	list_for_each_entry(e, &w->served, link) if (e->npids) netnswatch_resolver(e, e->pids[0]);
}

static bool netnswatch_has_sys_admin(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capget, &h, d) < 0)
		return true; /* cannot tell: setns will say */
	return d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));
}

static void netnswatch_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct netnswatch *w = container_of(t, struct netnswatch, timer);

	netnswatch_scan(w);
	ev_timer_start(loop, t, NETNSWATCH_RESCAN_MS);
}

/* A cgroup was made or its population changed: scan at once instead of at the next tick. */
static void netnswatch_inotify(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct netnswatch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	(void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		any = true;
	if (any)
		ev_timer_start(loop, &w->timer, 0);
}

/* Without inotify the periodic scan alone finds namespaces. */
static void netnswatch_inotify_open(struct netnswatch *w)
{
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd >= 0 && ev_io_add(w->a->loop, w->ifd, EV_READ, netnswatch_inotify, w) < 0) {
		close(w->ifd);
		w->ifd = -1;
	}
	if (w->ifd < 0)
		log_warnx("network namespaces: no inotify (%s): found by the scan every %d ms only",
			  strerror(errno), NETNSWATCH_RESCAN_MS);
}

int netnswatch_new(struct netnswatch **out, struct agent *a, const char *policy)
{
	struct netnswatch *w = calloc(1, sizeof(*w));
	char err[256];
	int rc;

	if (!w)
		return -ENOMEM;
	w->a = a;
	w->own.inode = a->netns_inode;
	w->ifd = -1;
	list_init(&w->served);
	ev_timer_init(&w->timer, netnswatch_tick);
	rc = netnswatch_parse(w, policy, err, sizeof(err));
	if (!rc && w->mode != NETNSWATCH_OWN && !netnswatch_has_sys_admin()) {
		log_info("only the agent's own network namespace is served: %s", NETNSWATCH_NOCAP);
		w->nocap = true;
	}
	if (!rc && w->mode != NETNSWATCH_OWN && !w->nocap) {
		netnswatch_inotify_open(w);
		rc = ev_timer_start(a->loop, &w->timer, 0);
	}
	if (rc) {
		netnswatch_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void netnswatch_free(struct netnswatch *w)
{
	if (!w)
		return;
	ev_timer_stop(w->a->loop, &w->timer);
	if (w->ifd >= 0) {
		ev_io_forget(w->a->loop, w->ifd);
		close(w->ifd);
	}
	while (!list_empty(&w->served)) {
		struct netnswatch_ns *e = list_first_entry(&w->served, struct netnswatch_ns, link);

		list_del(&e->link);
		netnswatch_forget_seen(e);
		netns_free(e->ns);
		free(e);
	}
	netnswatch_forget_seen(&w->own);
	for (unsigned i = 0; i < w->npolicy; i++)
		free(w->policy[i]);
	free(w);
}

int netnswatch_add_pid(struct netnswatch *w, int pid, char *msg, size_t len)
{
	struct netnswatch_failed *f;
	struct netnswatch_ns *e;
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (pid <= 0 || stat(path, &st) < 0)
		return snprintf(msg, len, "pid %d: %s", pid, strerror(pid > 0 ? errno : ESRCH)),
		       pid > 0 ? -errno : -ESRCH;
	if ((uint32_t)st.st_ino == w->own.inode)
		return snprintf(msg, len, "pid %d is in the agent's own network namespace", pid), 0;
	if (w->nocap)
		return snprintf(msg, len, "%s, which the agent lacks", NETNSWATCH_NOCAP), -EPERM;
	if (w->mode == NETNSWATCH_OWN)
		return snprintf(msg, len, "the netns policy serves only the agent's namespace"), 1;
	netnswatch_scan(w);
	e = netnswatch_find(w, (uint32_t)st.st_ino);
	if (e)
		return snprintf(msg, len,
				"serving network namespace inode %u (cookie %llu) of pid %d",
				e->inode, (unsigned long long)netns_cookie(e->ns), pid),
		       0;
	if (!netnswatch_allowed(w, (uint32_t)st.st_ino))
		return snprintf(msg, len, "the netns policy leaves out the namespace of pid %d%s",
				pid,
				(uint32_t)st.st_ino == NETNSWATCH_INIT_INO
				    ? " (the host's: only a policy naming it serves it)"
				    : ""),
		       1;
	f = netnswatch_failure(w->failed, w->nfailed, (uint32_t)st.st_ino);
	if (f)
		return snprintf(msg, len, "cannot serve %s", f->msg), -EIO;
	return snprintf(msg, len, "pid %d is not in an attached cgroup", pid), 1;
}

static void netnswatch_count_conn(const struct redirect_info *ci, void *arg)
{
	(void)ci;
	(*(unsigned *)arg)++;
}

static void netnswatch_status_one(struct netnswatch *w, FILE *f, const struct netnswatch_ns *e)
{
	unsigned long long cookie = e->ns ? netns_cookie(e->ns) : w->a->netns_cookie;
	unsigned conns = 0;

	if (e->ns)
		conns = netns_conns(e->ns);
	else
		redirect_walk(w->a->redirect, netnswatch_count_conn, &conns);

	fprintf(f, "{\"cookie\":%llu,\"inode\":%u,\"own\":%s,\"processes\":%u,\"pids\":[", cookie,
		e->inode, e->ns ? "false" : "true", e->nprocs);
	for (unsigned i = 0; i < e->npids; i++)
		fprintf(f, "%s%d", i ? "," : "", e->pids[i]);
	fprintf(f, "],\"cgroups\":[");
	for (unsigned i = 0; i < e->ncgroups; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_write_str(f, e->cgroups[i]);
	}
	fprintf(f, "],\"connections\":%u}", conns);
}

struct netns *netnswatch_by_cookie(struct netnswatch *w, uint64_t cookie)
{
	struct netnswatch_ns *e;

	list_for_each_entry(e, &w->served,
			    link) if (e->ns && netns_cookie(e->ns) == cookie) return e->ns;
	return NULL;
}

void netnswatch_status(struct netnswatch *w, FILE *f)
{
	struct netnswatch_ns *e;

	netnswatch_status_one(w, f, &w->own);
	list_for_each_entry(e, &w->served, link)
	{
		fputc(',', f);
		netnswatch_status_one(w, f, e);
	}
}

void netnswatch_set_no_fake(struct netnswatch *w, const char *const *no_fake)
{
	struct netnswatch_ns *e;

	list_for_each_entry(e, &w->served, link) netns_set_no_fake(e->ns, no_fake);
}
