/* happy.c — staggered, family-interleaved connection attempts as answers arrive. */
#include "happy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"

struct happy {
	struct ev_loop *loop;
	struct resolv_query *q; /* NULL once both families answered */
	struct happy_opts opts;
	struct happy_list list;
	uint16_t port;
	uint8_t pending; /* families not answered yet: bit0 v4, bit1 v6 */
	uint8_t started; /* first attempt made */
	int dns_err;	 /* most telling resolution error */
	int conn_err;	 /* most telling connect error */
	int fds[HAPPY_MAX_INFLIGHT];
	union happy_sa peers[HAPPY_MAX_INFLIGHT];
	struct ev_timer timer; /* attempt delay, resolution delay, deferred start */
	happy_cb *cb;
	void *arg;
};

static int happy_family_bit(int family)
{
	return family == AF_INET6 ? 2 : 1;
}

int happy_list_add(struct happy_list *l, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6) {
		if (l->n6 >= RESOLV_MAX_ADDRS)
			return -ENOSPC;
		memcpy(&l->v6[l->n6++], sa, sizeof(struct sockaddr_in6));
	} else if (sa->sa_family == AF_INET) {
		if (l->n4 >= RESOLV_MAX_ADDRS)
			return -ENOSPC;
		memcpy(&l->v4[l->n4++], sa, sizeof(struct sockaddr_in));
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

const union happy_sa *happy_list_next(struct happy_list *l, int prefer)
{
	bool have6 = l->i6 < l->n6, have4 = l->i4 < l->n4;
	int want;

	if (!have6 && !have4)
		return NULL;
	if (l->last_family == 0)
		want = prefer;
	else
		want = l->last_family == AF_INET6 ? AF_INET : AF_INET6;
	if (want == AF_INET6 && !have6)
		want = AF_INET;
	else if (want == AF_INET && !have4)
		want = AF_INET6;
	l->last_family = want;
	return want == AF_INET6 ? &l->v6[l->i6++] : &l->v4[l->i4++];
}

size_t happy_order(const struct sockaddr_storage *in, size_t n, int prefer,
		   struct sockaddr_storage *out)
{
	struct happy_list *l = calloc(1, sizeof(*l));
	const union happy_sa *sa;
	size_t k = 0;

	if (!l)
		return 0;
	for (size_t i = 0; i < n; i++)
		happy_list_add(l, (const struct sockaddr *)&in[i]);
	while ((sa = happy_list_next(l, prefer))) {
		memset(&out[k], 0, sizeof(out[k]));
		memcpy(&out[k++], sa, addr_sa_len(&sa->sa));
	}
	free(l);
	return k;
}

int happy_socket(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Refused says the most (the host answered), then unreachable/timeout, then the rest. */
static int happy_err_rank(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return 4;
	case ETIMEDOUT:
	case EHOSTUNREACH:
		return 3;
	case ENETUNREACH:
		return 2;
	case 0:
		return 0;
	default:
		return 1;
	}
}

static void happy_note_err(int *slot, int err)
{
	if (happy_err_rank(err) >= happy_err_rank(*slot))
		*slot = err;
}

static void happy_close_attempts(struct happy *h, int keep)
{
	for (int i = 0; i < HAPPY_MAX_INFLIGHT; i++) {
		if (h->fds[i] < 0 || i == keep)
			continue;
		ev_io_del(h->loop, h->fds[i]);
		close(h->fds[i]);
		h->fds[i] = -1;
	}
}

void happy_cancel(struct happy *h)
{
	if (!h)
		return;
	resolv_cancel(h->q);
	happy_close_attempts(h, -1);
	ev_timer_stop(h->loop, &h->timer);
	free(h);
}

static void happy_finish(struct happy *h, int slot, int err)
{
	int fd = slot >= 0 ? h->fds[slot] : -1;
	union happy_sa peer;

	if (slot >= 0) {
		ev_io_del(h->loop, fd);
		peer = h->peers[slot];
		h->fds[slot] = -1;
	}
	h->cb(h->arg, fd, err, slot >= 0 ? &peer.sa : NULL);
	happy_cancel(h);
}

static int happy_inflight(const struct happy *h)
{
	int n = 0;

	for (int i = 0; i < HAPPY_MAX_INFLIGHT; i++)
		n += h->fds[i] >= 0;
	return n;
}

static void happy_step(struct happy *h);

static void happy_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct happy *h = arg;
	socklen_t len = sizeof(int);
	int slot, err = 0;

	for (slot = 0; slot < HAPPY_MAX_INFLIGHT && h->fds[slot] != fd; slot++)
		;
	if (slot == HAPPY_MAX_INFLIGHT)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err) {
		happy_close_attempts(h, slot);
		happy_finish(h, slot, 0);
		return;
	}
	happy_note_err(&h->conn_err, err);
	ev_io_del(loop, fd);
	close(fd);
	h->fds[slot] = -1;
	/* A failed attempt starts the next one at once (RFC 8305 section 5). */
	ev_timer_stop(loop, &h->timer);
	happy_step(h);
}

/* Starts one attempt; returns 0 if one is in flight, -errno if this address failed at once. */
static int happy_attempt(struct happy *h, const union happy_sa *sa)
{
	int slot, fd, err;

	for (slot = 0; slot < HAPPY_MAX_INFLIGHT && h->fds[slot] >= 0; slot++)
		;
	if (slot == HAPPY_MAX_INFLIGHT)
		return -EAGAIN;
	fd = happy_socket(sa->sa.sa_family, h->opts.mark);
	if (fd < 0)
		return fd;
	h->peers[slot] = *sa;
	addr_set_port(&h->peers[slot].sa, h->port);
	if (connect(fd, &h->peers[slot].sa, addr_sa_len(&sa->sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	if ((err = ev_io_add(h->loop, fd, EV_WRITE, happy_io_cb, h)) < 0) {
		close(fd);
		return err;
	}
	h->fds[slot] = fd;
	return 0;
}

static bool happy_waiting_for_preferred(struct happy *h)
{
	return !h->started && (h->pending & happy_family_bit(h->opts.prefer));
}

/* Starts the next attempt if there is one, or reports failure when nothing is left. */
static void happy_step(struct happy *h)
{
	const union happy_sa *sa;
	int err;

	while (happy_inflight(h) < (int)h->opts.max_inflight &&
	       (sa = happy_list_next(&h->list, h->opts.prefer))) {
		h->started = 1;
		err = happy_attempt(h, sa);
		if (err == 0) {
			ev_timer_start(h->loop, &h->timer, h->opts.attempt_delay_ms);
			return;
		}
		happy_note_err(&h->conn_err, -err);
	}
	if (happy_inflight(h) || h->pending)
		return;
	if (h->conn_err)
		happy_finish(h, -1, h->conn_err);
	else
		happy_finish(h, -1, h->dns_err ? h->dns_err : EHOSTUNREACH);
}

static void happy_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct happy *h = container_of(t, struct happy, timer);

	h->started = 1;
	happy_step(h);
}

static int happy_dns_rank(int err)
{
	return err == ENOENT ? 3 : err == EHOSTUNREACH ? 2 : err ? 1 : 0;
}

/* Adds a candidate unless the caller's filter rules it out (its reason is kept). */
static void happy_add(struct happy *h, const struct sockaddr *sa)
{
	union happy_sa c = {0};
	int err = 0;

	if (h->opts.filter && addr_sa_len(sa)) {
		memcpy(&c, sa, addr_sa_len(sa));
		addr_set_port(&c.sa, h->port); /* the filter sees the destination port */
		err = h->opts.filter(h->opts.filter_arg, &c.sa);
	}
	if (err)
		happy_note_err(&h->conn_err, err);
	else
		happy_list_add(&h->list, sa);
}

static void happy_resolved(void *arg, int family, int err, const struct sockaddr_storage *addrs,
			   size_t n, int remaining)
{
	struct happy *h = arg;

	h->pending &= (uint8_t)~happy_family_bit(family);
	if (remaining == 0)
		h->q = NULL;
	if (err && happy_dns_rank(err) > happy_dns_rank(h->dns_err))
		h->dns_err = err;
	for (size_t i = 0; i < n; i++)
		happy_add(h, (const struct sockaddr *)&addrs[i]);
	if (h->started) {
		if (!ev_timer_armed(&h->timer))
			happy_step(h);
		return;
	}
	if (n && happy_waiting_for_preferred(h)) {
		/* RFC 8305 section 3: give the preferred family a moment before going without it.
		 */
		if (!ev_timer_armed(&h->timer))
			ev_timer_start(h->loop, &h->timer, h->opts.resolution_delay_ms);
		return;
	}
	ev_timer_stop(h->loop, &h->timer);
	happy_step(h);
}

int happy_start(struct happy **out, struct ev_loop *loop, struct resolv *res,
		const struct happy_opts *opts, const char *name, const struct sockaddr *addr,
		uint16_t port, happy_cb *cb, void *arg)
{
	struct happy *h = calloc(1, sizeof(*h));
	int err;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->opts = *opts;
	if (h->opts.prefer != AF_INET)
		h->opts.prefer = AF_INET6;
	if (!h->opts.max_inflight || h->opts.max_inflight > HAPPY_MAX_INFLIGHT)
		h->opts.max_inflight = HAPPY_MAX_INFLIGHT;
	h->port = port;
	h->cb = cb;
	h->arg = arg;
	for (int i = 0; i < HAPPY_MAX_INFLIGHT; i++)
		h->fds[i] = -1;
	ev_timer_init(&h->timer, happy_timer_cb);
	if (!name) {
		happy_add(h, addr);
		err = ev_timer_start(loop, &h->timer, 0);
	} else {
		h->pending = 3;
		h->q = resolv_lookup(res, name, happy_resolved, h);
		err = h->q ? 0 : -ENOMEM;
	}
	if (err) {
		happy_cancel(h);
		return err;
	}
	*out = h;
	return 0;
}
