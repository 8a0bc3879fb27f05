/* chain.c — connects to a route's upstreams in turn and runs the SOCKS5 client handshake on one. */
#include "chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "gateway.h"
#include "happy.h"
#include "log.h"
#include "s5client.h"
#include "upstream.h"

struct chain {
	struct worker *w;
	struct gw_snap *snap;	 /* keeps the route and its upstreams alive */
	struct srvlist_iter via; /* the route's upstreams, in failover order */
	struct srv *cur;
	uint8_t cmd;
	uint8_t last_rep;
	int fd;
	int last_err;
	struct happy *happy;
	struct s5client *cl;
	union happy_sa peer;
	struct ev_timer attempt; /* a silent upstream must not use up the whole connect timeout */
	chain_cb *cb;
	void *arg;
	struct socks5_addr dst;
};

static int chain_try_next(struct chain *c);

static void chain_report(struct chain *c, bool ok)
{
	const struct gwconf *conf = &c->snap->conf;
	uint64_t now = ev_now(c->w->loop);
	bool was_bad;

	if (!c->cur)
		return;
	was_bad = srv_is_bad(c->cur, now);
	if (!ok)
		log_debug("upstream %s failed: %s", c->cur->name, strerror(c->last_err));
	/* Once when it turns bad, not for every request that still tries it. */
	if (srv_report(c->cur, ok, now, conf->upstream_fail_limit, conf->upstream_bad_s * 1000u) &&
	    !was_bad)
		log_warnx("upstream %s: failed %u time%s in a row (%s), not used for %u s",
			  c->cur->name, conf->upstream_fail_limit,
			  conf->upstream_fail_limit == 1 ? "" : "s", strerror(c->last_err),
			  conf->upstream_bad_s);
}

static void chain_free(struct chain *c)
{
	ev_timer_stop(c->w->loop, &c->attempt);
	happy_cancel(c->happy);
	s5client_cancel(c->cl);
	if (c->fd >= 0)
		close(c->fd);
	srvlist_iter_end(&c->via);
	gw_snap_put(c->snap);
	free(c);
}

void chain_cancel(struct chain *c, bool failed)
{
	if (!c)
		return;
	if (failed && (c->happy || c->cl)) {
		c->last_err = ETIMEDOUT;
		chain_report(c, false);
	}
	chain_free(c);
}

/* Reports to the owner; a final report frees the chain first (the owner may free itself). */
static void chain_emit(struct chain *c, int fd, uint8_t rep, const struct socks5_addr *bnd,
		       bool final, int err)
{
	chain_cb *cb = c->cb;
	void *arg = c->arg;
	union happy_sa peer = c->peer;
	char name[72] = "";
	struct chain_result res = {
	    .fd = fd, .rep = rep, .final = final, .err = err, .bnd = bnd, .peer = NULL};

	if (c->cur)
		snprintf(name, sizeof(name), "%s", c->cur->name);
	if (peer.sa.sa_family)
		res.peer = &peer.sa;
	res.upstream = name[0] ? name : NULL;
	if (final)
		chain_free(c);
	cb(arg, &res);
}

static void chain_failed_attempt(struct chain *c, int err, uint8_t rep)
{
	c->last_err = err;
	c->last_rep = rep;
	chain_report(c, false);
	happy_cancel(c->happy);
	c->happy = NULL;
	s5client_cancel(c->cl);
	c->cl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (chain_try_next(c) < 0)
		chain_emit(c, -1, c->last_rep, NULL, true, c->last_err);
}

static void chain_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd, bool final)
{
	struct chain *c = arg;
	int fd;

	if (final)
		c->cl = NULL;
	if (err) {
		/* The upstream itself misbehaved (refused our login, broke the protocol). */
		chain_failed_attempt(c, err, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	chain_report(c, true);
	ev_timer_stop(c->w->loop, &c->attempt);
	if (!final) {
		chain_emit(c, -1, rep, bnd, false, 0);
		return;
	}
	fd = c->fd;
	c->fd = -1;
	if (rep != SOCKS5_REP_SUCCEEDED) {
		close(fd);
		fd = -1;
	}
	chain_emit(c, fd, rep, bnd, true, 0);
}

static void chain_connected(void *arg, int fd, int err, const struct sockaddr *peer)
{
	struct chain *c = arg;
	struct srv *u = c->cur;
	int ret;

	c->happy = NULL;
	if (fd < 0) {
		chain_failed_attempt(c, err, socks5_rep_from_errno(err));
		return;
	}
	c->fd = fd;
	memcpy(&c->peer, peer, addr_sa_len(peer));
	ret = s5client_start(&c->cl, c->w->loop, fd, u->user, u->pass, c->cmd, &c->dst, chain_reply,
			     c);
	if (ret)
		chain_failed_attempt(c, -ret, SOCKS5_REP_GENERAL_FAILURE);
}

static void chain_attempt_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct chain *c = container_of(t, struct chain, attempt);

	chain_failed_attempt(c, ETIMEDOUT, SOCKS5_REP_TTL_EXPIRED);
}

/*
 * With alternatives left, each attempt gets an equal share of the connect
 * timeout (at least a second), so a silent upstream still leaves time for the
 * next; the last one runs until the session's own connect timeout.
 */
static void chain_arm(struct chain *c)
{
	unsigned total = c->snap->conf.connect_timeout_s * 1000u, share;
	unsigned n = srvlist_iter_count(&c->via);

	if (n < 2 || !srvlist_iter_left(&c->via)) {
		ev_timer_stop(c->w->loop, &c->attempt);
		return;
	}
	share = total / n;
	ev_timer_start(c->w->loop, &c->attempt, share < 1000 ? 1000 : share);
}

/* An upstream at one of this gateway's own listeners would hand every request back to it. */
static int chain_filter(void *arg, const struct sockaddr *sa)
{
	struct chain *c = arg;

	if (!destpolicy_is_listener(&c->w->dpol, c->w->nm, sa))
		return 0;
	destpolicy_log(DESTPOLICY_LOOP, NULL, 0, c->cur ? c->cur->name : NULL, sa);
	return EACCES;
}

/* Starts the next untried upstream; -errno when none is left that can start. */
static int chain_try_next(struct chain *c)
{
	struct happy_opts o = c->w->happy;
	struct srv *u;
	int err = -ENOENT;

	o.filter = chain_filter;
	o.filter_arg = c;
	while ((u = srvlist_next(&c->via, ev_now(c->w->loop)))) {
		c->cur = u;
		err = happy_start(&c->happy, c->w->loop, c->w->res, &o, u->host,
				  u->host ? NULL : (const struct sockaddr *)&u->addr, u->port,
				  chain_connected, c);
		if (!err) {
			chain_arm(c);
			return 0;
		}
		c->last_err = -err;
		c->last_rep = socks5_rep_from_errno(-err);
		chain_report(c, false);
	}
	return err;
}

int chain_start(struct chain **out, struct worker *w, const struct upstream_route *rt, uint8_t cmd,
		const struct socks5_addr *dst, chain_cb *cb, void *arg)
{
	struct chain *c = calloc(1, sizeof(*c));
	int err;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->w = w;
	c->snap = gw_snap_ref(w->snap);
	srvlist_iter_start(&c->via, upstream_route_via(rt));
	c->cmd = cmd;
	c->dst = *dst;
	c->fd = -1;
	c->cb = cb;
	c->arg = arg;
	ev_timer_init(&c->attempt, chain_attempt_cb);
	err = chain_try_next(c);
	if (err) {
		chain_free(c);
		return err;
	}
	*out = c;
	return 0;
}
