/* sockdiag.c — NETLINK_SOCK_DIAG through libmnl: dumps of TCP sockets, lookups of UDP sockets, and
 * socket inodes to pids via /proc. */
#include "sockdiag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Dumps come in multipart messages of up to a page each; 32 KiB holds several. */
#define SOCKDIAG_BUF 32768

struct sockdiag_dump {
	int af;
	sockdiag_cb *cb;
	void *arg;
	int stopped;
};

static void sockdiag_fill_addr(struct sockaddr_storage *ss, int af, const __be32 *a, __be16 port)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = port;
		memcpy(&s->sin_addr, a, 4);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = port;
		memcpy(&s->sin6_addr, a, 16);
	}
}

static int sockdiag_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sockdiag_dump *d = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct sockdiag_sock s;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	sockdiag_fill_addr(&s.src, m->idiag_family, m->id.idiag_src, m->id.idiag_sport);
	sockdiag_fill_addr(&s.dst, m->idiag_family, m->id.idiag_dst, m->id.idiag_dport);
	s.cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	s.inode = m->idiag_inode;
	s.uid = m->idiag_uid;
	s.state = m->idiag_state;
	d->stopped = d->cb(&s, d->arg);
	return d->stopped ? MNL_CB_STOP : MNL_CB_OK;
}

static int sockdiag_request(struct mnl_socket *nl, int af, uint32_t states, uint32_t seq, char *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)af;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = states;
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

int sockdiag_dump_tcp(int af, uint32_t states, sockdiag_cb *cb, void *arg)
{
	struct sockdiag_dump d = {.af = af, .cb = cb, .arg = arg};
	uint32_t seq = (uint32_t)time(NULL), portid;
	struct mnl_socket *nl;
	char *buf;
	ssize_t n;
	int err = 0, r;

	if (af != AF_INET && af != AF_INET6)
		return -EAFNOSUPPORT;
	buf = malloc(SOCKDIAG_BUF);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	err = sockdiag_request(nl, af, states, seq, buf);
	if (err)
		goto out;
	while ((n = mnl_socket_recvfrom(nl, buf, SOCKDIAG_BUF)) > 0) {
		r = mnl_cb_run(buf, (size_t)n, seq, portid, sockdiag_msg_cb, &d);
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == MNL_CB_STOP)
			break;
	}
	if (n < 0)
		err = -errno;
	if (d.stopped)
		err = d.stopped;
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

static int sockdiag_inode_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct sockdiag_owner *)a)->inode;
	uint32_t y = ((const struct sockdiag_owner *)b)->inode;

	return x < y ? -1 : x > y;
}

static void sockdiag_read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, comm, len - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Looks at every fd of one process; returns how many new owners it found. */
static int sockdiag_scan_pid(pid_t pid, struct sockdiag_owner *owners, size_t n)
{
	char path[64], link[64];
	struct dirent *de;
	DIR *dir;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0; /* gone, or not ours to look at */
	while ((de = readdir(dir))) {
		struct sockdiag_owner key, *o;
		unsigned long inode;
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		l = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		key.inode = (uint32_t)inode;
		o = bsearch(&key, owners, n, sizeof(*owners), sockdiag_inode_cmp);
		if (!o || o->pid)
			continue;
		o->pid = pid;
		sockdiag_read_comm(pid, o->comm, sizeof(o->comm));
		found++;
	}
	closedir(dir);
	return found;
}

int sockdiag_find_owners(struct sockdiag_owner *owners, size_t n)
{
	struct dirent *de;
	size_t found = 0;
	DIR *proc;

	for (size_t i = 0; i < n; i++) {
		owners[i].pid = 0;
		owners[i].comm[0] = '\0';
	}
	if (!n)
		return 0;
	qsort(owners, n, sizeof(*owners), sockdiag_inode_cmp);
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (found < n && (de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		found += (size_t)sockdiag_scan_pid((pid_t)pid, owners, n);
	}
	closedir(proc);
	return (int)found;
}

struct sockdiag_udp {
	struct mnl_socket *nl;
	uint32_t portid, seq;
};

int sockdiag_udp_new(struct sockdiag_udp **out)
{
	struct sockdiag_udp *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!d->nl || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		sockdiag_udp_free(d);
		return err;
	}
	d->portid = mnl_socket_get_portid(d->nl);
	*out = d;
	return 0;
}

void sockdiag_udp_free(struct sockdiag_udp *d)
{
	if (!d)
		return;
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d);
}

static void sockdiag_put_addr(__be32 *a, __be16 *port, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*port = ((const struct sockaddr_in *)sa)->sin_port;
	} else {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		*port = ((const struct sockaddr_in6 *)sa)->sin6_port;
	}
}

static int sockdiag_cookie_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	*(uint64_t *)data = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	return MNL_CB_STOP;
}

int sockdiag_udp_cookie(struct sockdiag_udp *d, const struct sockaddr *local,
			const struct sockaddr *remote, uint64_t *cookie)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	ssize_t n;

	if (local->sa_family != remote->sa_family ||
	    (local->sa_family != AF_INET && local->sa_family != AF_INET6))
		return -EAFNOSUPPORT;
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++d->seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)local->sa_family;
	req->sdiag_protocol = IPPROTO_UDP;
	req->idiag_states = SOCKDIAG_ALL_STATES;
	/* The kernel looks up the socket a datagram from idiag_src to idiag_dst reaches. */
	sockdiag_put_addr(req->id.idiag_src, &req->id.idiag_sport, remote);
	sockdiag_put_addr(req->id.idiag_dst, &req->id.idiag_dport, local);
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	*cookie = 0;
	n = mnl_socket_recvfrom(d->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)n, d->seq, d->portid, sockdiag_cookie_cb, cookie) < 0)
		return -errno;
	return *cookie ? 0 : -ENOENT;
}
