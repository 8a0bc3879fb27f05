/* bindcmd.c — BIND: pick the local address toward DST, listen, accept only DST's hosts. */
#include "bindcmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"

struct bindcmd {
	struct ev_loop *loop;
	struct resolv_query *query;
	int lfd;
	int prefer;
	int err; /* first resolution error, reported if no address is left */
	int (*filter)(void *arg, const struct sockaddr *sa);
	void *filter_arg;
	bindcmd_cb *cb;
	void *arg;
	struct ev_timer kick; /* delivers the first reply from the loop, never inside start */
	struct sockaddr_storage ctl, bound;
	struct bindcmd_allow allow;
};

bool bindcmd_is_any(const struct socks5_addr *dst)
{
	static const uint8_t zero[16];

	if (dst->atyp == SOCKS5_ATYP_IPV4)
		return dst->v4.s_addr == 0;
	return dst->atyp == SOCKS5_ATYP_IPV6 && !memcmp(&dst->v6, zero, 16);
}

int bindcmd_allow_add(struct bindcmd_allow *a, const struct sockaddr *sa)
{
	if (a->n == BINDCMD_MAX_PEERS)
		return -ENOSPC;
	memset(&a->addr[a->n], 0, sizeof(a->addr[a->n]));
	memcpy(&a->addr[a->n], sa, addr_sa_len(sa));
	addr_unmap(&a->addr[a->n]);
	addr_set_port((struct sockaddr *)&a->addr[a->n], 0);
	a->n++;
	return 0;
}

bool bindcmd_allowed(const struct bindcmd_allow *a, const struct sockaddr *peer)
{
	struct sockaddr_storage p = {0};

	if (a->any)
		return true;
	memcpy(&p, peer, addr_sa_len(peer));
	addr_unmap(&p);
	addr_set_port((struct sockaddr *)&p, 0);
	for (unsigned i = 0; i < a->n; i++)
		if (addr_equal((struct sockaddr *)&p, (const struct sockaddr *)&a->addr[i]))
			return true;
	return false;
}

int bindcmd_source(const struct sockaddr *dst, struct sockaddr_storage *out)
{
	struct sockaddr_storage d = {0};
	socklen_t len = sizeof(*out);
	int fd, err = 0;

	memcpy(&d, dst, addr_sa_len(dst));
	addr_unmap(&d);
	/* Any port will do: a UDP connect only asks the routing table. */
	if (!addr_port((struct sockaddr *)&d))
		addr_set_port((struct sockaddr *)&d, 9);
	fd = socket(d.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&d, addr_len(d.ss_family)) < 0 ||
	    getsockname(fd, (struct sockaddr *)out, &len) < 0)
		err = -errno;
	close(fd);
	if (!err)
		addr_set_port((struct sockaddr *)out, 0);
	return err;
}

void bindcmd_cancel(struct bindcmd *b)
{
	if (!b)
		return;
	resolv_cancel(b->query);
	ev_timer_stop(b->loop, &b->kick);
	if (b->lfd >= 0) {
		ev_io_del(b->loop, b->lfd);
		close(b->lfd);
	}
	free(b);
}

static void bindcmd_finish(struct bindcmd *b, int fd, int err, const struct sockaddr *addr)
{
	bindcmd_cb *cb = b->cb;
	void *arg = b->arg;
	struct sockaddr_storage a = {0};

	if (addr)
		memcpy(&a, addr, addr_sa_len(addr));
	bindcmd_cancel(b);
	cb(arg, fd, err, addr ? (struct sockaddr *)&a : NULL, true);
}

static void bindcmd_accept_cb(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct bindcmd *b = arg;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		char who[ADDR_STRLEN], on[ADDR_STRLEN];
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED))
			return;
		if (fd < 0) {
			/* Out of descriptors: fail this BIND rather than spin on the listener. */
			bindcmd_finish(b, -1, errno, NULL);
			return;
		}
		if (bindcmd_allowed(&b->allow, (struct sockaddr *)&peer)) {
			bindcmd_finish(b, fd, 0, (struct sockaddr *)&peer);
			return;
		}
		log_info("bind: rejected %s on %s (not DST.ADDR)",
			 addr_format((struct sockaddr *)&peer, who, sizeof(who)),
			 addr_format((struct sockaddr *)&b->bound, on, sizeof(on)));
		close(fd);
	}
}

/* Listens on src (port 0) and learns the port; returns 0 or -errno. */
static int bindcmd_listen(struct bindcmd *b, const struct sockaddr_storage *src)
{
	socklen_t len = sizeof(b->bound);
	int one = 1, err;

	b->lfd = socket(src->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->lfd < 0)
		return -errno;
	if (src->ss_family == AF_INET6)
		setsockopt(b->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(b->lfd, (const struct sockaddr *)src, addr_len(src->ss_family)) < 0 ||
	    listen(b->lfd, 8) < 0 || getsockname(b->lfd, (struct sockaddr *)&b->bound, &len) < 0)
		return -errno;
	err = ev_io_add(b->loop, b->lfd, EV_READ, bindcmd_accept_cb, b);
	if (err < 0)
		return err;
	return 0;
}

/* The address to listen on: toward target, or where the client came in for "any". */
static int bindcmd_setup(struct bindcmd *b, const struct sockaddr *target)
{
	struct sockaddr_storage src = b->ctl;
	int err = 0;

	if (target)
		err = bindcmd_source(target, &src);
	addr_unmap(&src);
	addr_set_port((struct sockaddr *)&src, 0);
	return err < 0 ? err : bindcmd_listen(b, &src);
}

static void bindcmd_kick_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct bindcmd *b = container_of(t, struct bindcmd, kick);

	b->cb(b->arg, -1, 0, (struct sockaddr *)&b->bound, false);
}

/*
 * Listens toward the first of the name's addresses that has a route, the
 * preferred family first: a family without a route must not fail the BIND.
 */
static int bindcmd_setup_any_of(struct bindcmd *b)
{
	int err = b->err ? -b->err : -ENOENT;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < b->allow.n; i++) {
			const struct sockaddr_storage *a = &b->allow.addr[i];

			if ((a->ss_family == b->prefer) != (pass == 0))
				continue;
			err = bindcmd_setup(b, (const struct sockaddr *)a);
			if (err == 0)
				return 0;
			if (b->lfd >= 0) {
				ev_io_del(b->loop, b->lfd);
				close(b->lfd);
				b->lfd = -1;
			}
		}
	}
	return err;
}

static void bindcmd_resolved(void *arg, int family, int err, const struct sockaddr_storage *addrs,
			     size_t n, int remaining)
{
	struct bindcmd *b = arg;
	int ret;

	for (size_t i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];
		int why = b->filter ? b->filter(b->filter_arg, sa) : 0;

		if (why && !b->err)
			b->err = why;
		if (!why)
			bindcmd_allow_add(&b->allow, sa);
	}
	if (err && (!b->err || err == ENOENT))
		b->err = err;
	if (remaining)
		return;
	b->query = NULL;
	ret = bindcmd_setup_any_of(b);
	if (ret < 0) {
		bindcmd_finish(b, -1, -ret, NULL);
		return;
	}
	b->cb(b->arg, -1, 0, (struct sockaddr *)&b->bound, false);
}

int bindcmd_start(struct bindcmd **out, struct ev_loop *loop, struct resolv *res,
		  const struct bindcmd_opts *o, const struct socks5_addr *dst, bindcmd_cb *cb,
		  void *arg)
{
	struct bindcmd *b = calloc(1, sizeof(*b));
	struct sockaddr_storage ss;
	int err = -ENOMEM;

	*out = NULL;
	if (!b)
		return err;
	b->loop = loop;
	b->lfd = -1;
	b->prefer = o->prefer;
	b->filter = o->filter;
	b->filter_arg = o->filter_arg;
	b->cb = cb;
	b->arg = arg;
	ev_timer_init(&b->kick, bindcmd_kick_cb);
	if (o->ctl_local)
		memcpy(&b->ctl, o->ctl_local, addr_sa_len(o->ctl_local));
	if (dst->atyp == SOCKS5_ATYP_DOMAINNAME) {
		b->query = resolv_lookup(res, dst->name, bindcmd_resolved, b);
		if (!b->query)
			goto fail;
		*out = b;
		return 0;
	}
	err = socks5_addr_to_sockaddr(dst, &ss, NULL);
	if (err < 0)
		goto fail;
	b->allow.any = bindcmd_is_any(dst);
	if (!b->allow.any)
		bindcmd_allow_add(&b->allow, (struct sockaddr *)&ss);
	err = bindcmd_setup(b, b->allow.any ? NULL : (struct sockaddr *)&ss);
	if (err == 0)
		err = ev_timer_start(loop, &b->kick, 0);
	if (err == 0) {
		*out = b;
		return 0;
	}
fail:
	bindcmd_cancel(b);
	return err;
}
