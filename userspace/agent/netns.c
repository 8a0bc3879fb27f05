/* netns.c — one network namespace the agent serves: its listeners, created inside it. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "agent.h"
#include "bpfload.h"
#include "dnsd.h"
#include "log.h"
#include "redirect.h"
#include "udpfwd.h"

struct netns {
	struct agent *a;
	uint64_t cookie;
	uint32_t inode;
	bool mapped; /* in s46_netns */
	struct redirect *redirect;
	struct dnsd *dnsd;     /* NULL with --no-dns */
	struct udpfwd *udpfwd; /* NULL when the agent has no forwarder */
	/* A socket inside the namespace: it names the namespace (SIOCGSKNS) when the responder
	 * dials the namespace's own resolver, so no namespace descriptor stays open. */
	int anchor;
	bool own_resolver; /* names not faked go to the namespace's resolver, from inside */
	struct sockaddr_storage resolver;
};

/* Enters the network namespace nsfd; *self gets the one to come back to. 0 or -errno. */
static int netns_enter(int nsfd, int *self)
{
	int err;

	*self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		err = -errno;
		close(*self);
		return err;
	}
	return 0;
}

static void netns_leave(int self)
{
	/* Staying in the container's namespace would dial the gateway from there. */
	if (setns(self, CLONE_NEWNET) < 0)
		fatal("cannot return to the agent's network namespace: %s", strerror(errno));
	close(self);
}

/* The responder's upstream sockets: inside the namespace when it asks the namespace's own
 * resolver (which may answer only there: Docker's 127.0.0.11, a bridge address). */
static int netns_upstream_socket(void *arg, int af, int type)
{
	struct netns *n = arg;
	int fd, nsfd, self, err;

	if (n->own_resolver && (nsfd = ioctl(n->anchor, SIOCGSKNS)) >= 0) {
		err = netns_enter(nsfd, &self);
		close(nsfd);
		if (err)
			return err;
		fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		err = -errno;
		netns_leave(self);
		return fd < 0 ? err : fd;
	}
	if (n->own_resolver)
		return -errno;
	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* The agent's listeners, made while the thread is inside the namespace: the sockets stay
 * there. What they dial later is dialled from the agent's own namespace. */
static int netns_listen(struct netns *n, char *err, size_t errlen)
{
	struct agent *a = n->a;
	struct agentconf *boot = a->boot;
	struct redirect_config rcfg = boot->rcfg;
	struct dnsd_config dcfg = boot->dcfg;
	int rc;

	rc = bpfload_netns_cookie(&n->cookie);
	if (rc)
		return snprintf(err, errlen, "its cookie: %s", strerror(-rc)), rc;
	n->anchor = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->anchor < 0)
		return snprintf(err, errlen, "a socket: %s", strerror(errno)), -errno;
	rcfg.port = a->proxy_port;
	rc = redirect_new(&n->redirect, a->loop, &rcfg, a->bpf, n->cookie, a->fakeip, &a->fcfg);
	if (rc)
		return snprintf(err, errlen, "proxy on 127.0.0.1:%u: %s%s", a->proxy_port,
				strerror(-rc), rc == -EADDRNOTAVAIL ? " (is lo up there?)" : ""),
		       rc;
	if (a->fast)
		redirect_set_fastpath(n->redirect, a->fast);
	/* The descriptor carries its namespace: one set of channels serves them all. */
	if (a->handoff)
		redirect_set_handoff(n->redirect, a->handoff);
	if (a->dnsd) {
		addr_set_port((struct sockaddr *)&dcfg.listen4, a->dns_port);
		addr_set_port((struct sockaddr *)&dcfg.listen6, a->dns_port);
		dcfg.no_fake = a->conf->no_fake;
		dcfg.upstream_socket = netns_upstream_socket;
		dcfg.upstream_arg = n;
		rc = dnsd_new(&n->dnsd, a->loop, &dcfg, a->fakeip);
		if (rc)
			return snprintf(err, errlen, "DNS responder on port %u: %s", a->dns_port,
					strerror(-rc)),
			       rc;
	}
	if (a->udp_port) {
		rc = udpfwd_new(&n->udpfwd, a->loop, a->udp_port, &rcfg, a->bpf, a->fakeip,
				&a->fcfg);
		if (rc)
			return snprintf(err, errlen, "UDP forwarder on port %u: %s", a->udp_port,
					strerror(-rc)),
			       rc;
	}
	return 0;
}

/* Enters nsfd, makes the listeners, comes back to the namespace the thread was in. */
static int netns_enter_listen(struct netns *n, int nsfd, char *err, size_t errlen)
{
	int self, rc;

	rc = netns_enter(nsfd, &self);
	if (rc)
		return snprintf(err, errlen, "entering it: %s%s", strerror(-rc),
				rc == -EPERM ? " (serving other namespaces needs CAP_SYS_ADMIN)"
					     : ""),
		       rc;
	rc = netns_listen(n, err, errlen);
	netns_leave(self);
	return rc;
}

int netns_new(struct netns **out, struct agent *a, int nsfd, char *err, size_t errlen)
{
	struct netns *n = calloc(1, sizeof(*n));
	struct stat st;
	int rc;

	if (!n)
		return snprintf(err, errlen, "%s", strerror(ENOMEM)), -ENOMEM;
	n->a = a;
	n->anchor = -1;
	n->resolver = a->boot->dcfg.upstream;
	if (fstat(nsfd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(-rc));
		goto fail;
	}
	n->inode = (uint32_t)st.st_ino;
	rc = netns_enter_listen(n, nsfd, err, errlen);
	if (rc)
		goto fail;
	rc = bpfload_netns_add(a->bpf, n->cookie, n->inode);
	if (rc) {
		snprintf(err, errlen, "the s46_netns map: %s", strerror(-rc));
		goto fail;
	}
	n->mapped = true;
	*out = n;
	return 0;
fail:
	netns_free(n);
	return rc;
}

void netns_free(struct netns *n)
{
	if (!n)
		return;
	/* The programs stop steering to the listeners before they close. */
	if (n->mapped)
		bpfload_netns_del(n->a->bpf, n->cookie);
	udpfwd_free(n->udpfwd);
	dnsd_free(n->dnsd);
	redirect_free(n->redirect);
	if (n->anchor >= 0)
		close(n->anchor);
	free(n);
}

uint64_t netns_cookie(const struct netns *n)
{
	return n->cookie;
}

struct udpfwd *netns_udpfwd(const struct netns *n)
{
	return n->udpfwd;
}

uint32_t netns_inode(const struct netns *n)
{
	return n->inode;
}

static void netns_count_conn(const struct redirect_info *ci, void *arg)
{
	(void)ci;
	(*(unsigned *)arg)++;
}

static void netns_count_flow(const struct udpfwd_info *fi, void *arg)
{
	(void)fi;
	(*(unsigned *)arg)++;
}

unsigned netns_conns(struct netns *n)
{
	unsigned c = 0;

	redirect_walk(n->redirect, netns_count_conn, &c);
	if (n->udpfwd)
		udpfwd_walk(n->udpfwd, netns_count_flow, &c);
	return c;
}

bool netns_set_resolver(struct netns *n, int pid)
{
	struct sockaddr_storage up;
	char path[64];
	bool own;

	snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", pid);
	own = !dnsd_upstream_from_resolv(path, &up);
	if (!own)
		up = n->a->boot->dcfg.upstream;
	if (own == n->own_resolver &&
	    addr_equal((struct sockaddr *)&up, (struct sockaddr *)&n->resolver))
		return false;
	n->own_resolver = own;
	n->resolver = up;
	if (n->dnsd)
		dnsd_set_upstream(n->dnsd, &up);
	return true;
}

const struct sockaddr_storage *netns_resolver(const struct netns *n, bool *own)
{
	*own = n->own_resolver;
	return &n->resolver;
}

void netns_set_no_fake(struct netns *n, const char *const *no_fake)
{
	if (n->dnsd)
		dnsd_set_no_fake(n->dnsd, no_fake);
}
