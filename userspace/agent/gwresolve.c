/* gwresolve.c — SOCKS5 RESOLVE (Tor 0xF0) lookups at the gateway, one short connection each. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "ev.h"
#include "gwresolve.h"
#include "log.h"
#include "socks5.h"

#define GWRESOLVE_TIMEOUT_MS 2000

struct gwresolve_req {
	struct gwresolve *g;
	int fd;
	unsigned gw; /* index of the gateway asked */
	bool sent;
	int phase; /* 0 choice, 1 auth reply, 2 reply */
	uint8_t out[SOCKS5_GREETING_MAX + SOCKS5_AUTH_MAX + SOCKS5_REQUEST_MAX];
	size_t out_len;
	uint8_t in[SOCKS5_REPLY_MAX + 8];
	size_t in_len;
	dnsd_exists_done_fn *done;
	void *ctx;
	struct ev_timer timer;
	struct gwresolve_req *prev, *next;
};

struct gwresolve {
	struct ev_loop *loop;
	struct redirect_config cfg;
	struct gwresolve_req *reqs;
};

int gwresolve_new(struct gwresolve **out, struct ev_loop *loop, const struct redirect_config *cfg)
{
	struct gwresolve *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->loop = loop;
	g->cfg = *cfg;
	*out = g;
	return 0;
}

static void gwresolve_req_free(struct gwresolve_req *r)
{
	struct gwresolve *g = r->g;

	ev_timer_stop(g->loop, &r->timer);
	if (r->fd >= 0) {
		ev_io_del(g->loop, r->fd);
		close(r->fd);
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		g->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	free(r);
}

void gwresolve_free(struct gwresolve *g)
{
	if (!g)
		return;
	while (g->reqs)
		gwresolve_req_free(g->reqs);
	free(g);
}

static void gwresolve_finish(struct gwresolve_req *r, int result)
{
	dnsd_exists_done_fn *done = r->done;
	void *ctx = r->ctx;

	gwresolve_req_free(r);
	done(ctx, result);
}

static int gwresolve_connect(struct gwresolve_req *r);

/* This gateway did not answer: ask the next one, or give up (the name is faked). */
static void gwresolve_next(struct gwresolve_req *r)
{
	ev_io_del(r->g->loop, r->fd);
	close(r->fd);
	r->fd = -1;
	r->in_len = 0;
	r->sent = false;
	while (++r->gw < r->g->cfg.ngateways)
		if (!gwresolve_connect(r))
			return;
	gwresolve_finish(r, -EHOSTUNREACH);
}

/* Returns 1 when finished (r freed), 0 for more bytes. */
static int gwresolve_parse(struct gwresolve_req *r)
{
	const struct redirect_config *cfg = &r->g->cfg;
	struct socks5_addr bnd;
	size_t off = 0;
	uint8_t v;
	int n;

	for (;;) {
		const uint8_t *p = r->in + off;
		size_t len = r->in_len - off;

		if (r->phase == 0) {
			n = socks5_parse_choice(p, len, &v);
			if (n <= 0)
				break;
			if (v != (cfg->user ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE)) {
				gwresolve_finish(r, -EPROTO);
				return 1;
			}
			r->phase = cfg->user ? 1 : 2;
		} else if (r->phase == 1) {
			n = socks5_parse_auth_reply(p, len, &v);
			if (n <= 0)
				break;
			if (v != SOCKS5_AUTH_SUCCESS) {
				gwresolve_finish(r, -EACCES);
				return 1;
			}
			r->phase = 2;
		} else {
			n = socks5_parse_reply(p, len, &v, &bnd);
			if (n <= 0)
				break;
			/* 0x04 is the gateway's "the name does not exist / has no address". */
			gwresolve_finish(r, v == SOCKS5_REP_SUCCEEDED	       ? 1
					    : v == SOCKS5_REP_HOST_UNREACHABLE ? 0
									       : -EOPNOTSUPP);
			return 1;
		}
		off += (size_t)n;
	}
	if (n < 0) {
		gwresolve_finish(r, n);
		return 1;
	}
	memmove(r->in, r->in + off, r->in_len - off);
	r->in_len -= off;
	return 0;
}

static void gwresolve_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct gwresolve_req *r = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	ssize_t n;

	if (!r->sent) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr ||
		    send(fd, r->out, r->out_len, MSG_NOSIGNAL) != (ssize_t)r->out_len) {
			gwresolve_next(r);
			return;
		}
		r->sent = true;
		ev_io_mod(loop, fd, EV_READ);
		return;
	}
	n = recv(fd, r->in + r->in_len, sizeof(r->in) - r->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		gwresolve_next(r);
		return;
	}
	r->in_len += (size_t)n;
	if (!gwresolve_parse(r) && r->in_len == sizeof(r->in))
		gwresolve_finish(r, -EPROTO);
}

static void gwresolve_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	gwresolve_next(container_of(t, struct gwresolve_req, timer));
}

static int gwresolve_connect(struct gwresolve_req *r)
{
	struct gwresolve *g = r->g;
	const struct sockaddr_storage *ga = &g->cfg.gateways[r->gw];
	int fd, err;

	fd = socket(ga->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (g->cfg.mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &g->cfg.mark, sizeof(g->cfg.mark));
	if (connect(fd, (const struct sockaddr *)ga, addr_sa_len((const struct sockaddr *)ga)) <
		0 &&
	    errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	err = ev_io_add(g->loop, fd, EV_WRITE, gwresolve_io, r);
	if (err) {
		close(fd);
		return err;
	}
	r->fd = fd;
	r->phase = 0;
	err = ev_timer_start(g->loop, &r->timer, GWRESOLVE_TIMEOUT_MS);
	if (err) {
		ev_io_del(g->loop, fd);
		close(fd);
		r->fd = -1;
	}
	return err;
}

static int gwresolve_build(struct gwresolve_req *r, const char *name)
{
	const struct redirect_config *cfg = &r->g->cfg;
	uint8_t method = cfg->user ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	struct socks5_addr dst;
	int n;

	n = socks5_addr_set_name(&dst, name, 0);
	if (n)
		return n;
	n = socks5_build_greeting(r->out, &method, 1);
	if (n < 0)
		return n;
	r->out_len = (size_t)n;
	if (cfg->user) {
		n = socks5_build_auth(r->out + r->out_len, cfg->user, cfg->pass);
		if (n < 0)
			return n;
		r->out_len += (size_t)n;
	}
	n = socks5_build_request(r->out + r->out_len, SOCKS5_CMD_RESOLVE, &dst);
	if (n < 0)
		return n;
	r->out_len += (size_t)n;
	return 0;
}

int gwresolve_exists(void *arg, const char *name, dnsd_exists_done_fn *done, void *ctx)
{
	struct gwresolve *g = arg;
	struct gwresolve_req *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->g = g;
	r->fd = -1;
	r->done = done;
	r->ctx = ctx;
	ev_timer_init(&r->timer, gwresolve_timeout);
	err = gwresolve_build(r, name);
	if (err) {
		free(r);
		return err;
	}
	r->next = g->reqs;
	if (g->reqs)
		g->reqs->prev = r;
	g->reqs = r;
	for (r->gw = 0; r->gw < g->cfg.ngateways; r->gw++)
		if (!gwresolve_connect(r))
			return 0;
	gwresolve_req_free(r);
	return -EHOSTUNREACH;
}

void gwresolve_cancel(void *arg, void *ctx)
{
	struct gwresolve *g = arg;

	for (struct gwresolve_req *r = g->reqs; r; r = r->next) {
		if (r->ctx == ctx) {
			gwresolve_req_free(r);
			return;
		}
	}
}
