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
#include "list.h"
#include "listener.h"
#include "log.h"
#include "s5client.h"
#include "socks5.h"
#include "srvlist.h"

#define GWRESOLVE_TIMEOUT_MS 2000

struct gwresolve_req {
	struct gwresolve *g;
	int fd;
	struct srvlist_iter via; /* the gateways, in failover order (health shared with CONNECTs) */
	struct srv *gw;		 /* the gateway asked */
	struct s5client *cl;
	struct socks5_addr dst;
	dnsd_exists_done_fn *done;
	void *ctx;
	struct ev_timer timer;
	struct list_head link; /* in the gwresolve's reqs */
};

struct gwresolve {
	struct ev_loop *loop;
	struct redirect_config cfg;
	struct list_head reqs;
};

int gwresolve_new(struct gwresolve **out, struct ev_loop *loop, const struct redirect_config *cfg)
{
	struct gwresolve *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->loop = loop;
	g->cfg = *cfg;
	list_init(&g->reqs);
	*out = g;
	return 0;
}

static void gwresolve_req_free(struct gwresolve_req *r)
{
	struct gwresolve *g = r->g;

	ev_timer_stop(g->loop, &r->timer);
	s5client_cancel(r->cl);
	if (r->fd >= 0)
		close(r->fd);
	srvlist_iter_end(&r->via);
	list_del(&r->link);
	free(r);
}

void gwresolve_free(struct gwresolve *g)
{
	if (!g)
		return;
	while (!list_empty(&g->reqs))
		gwresolve_req_free(list_first_entry(&g->reqs, struct gwresolve_req, link));
	free(g);
}

static void gwresolve_finish(struct gwresolve_req *r, int result)
{
	dnsd_exists_done_fn *done = r->done;
	void *ctx = r->ctx;

	gwresolve_req_free(r);
	done(ctx, result);
}

static void gwresolve_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd,
			    bool final);

static void gwresolve_report(struct gwresolve_req *r, bool ok)
{
	srv_report(r->gw, ok, ev_now(r->g->loop), 1, REDIRECT_GW_BACKOFF_MS);
}

static int gwresolve_arm(struct gwresolve_req *r)
{
	int err = ev_timer_start(r->g->loop, &r->timer, GWRESOLVE_TIMEOUT_MS);

	if (err) {
		s5client_cancel(r->cl);
		r->cl = NULL;
		close(r->fd);
		r->fd = -1;
	}
	return err;
}

/* Asks the next gateway that can be asked; -errno when none is left. */
static int gwresolve_ask(struct gwresolve_req *r)
{
	struct gwresolve *g = r->g;
	int fd;

	while ((r->gw = srvlist_next(&r->via, ev_now(g->loop)))) {
		fd = srv_dial(r->gw, g->loop, g->cfg.mark, SOCKS5_CMD_RESOLVE, &r->dst,
			      gwresolve_reply, r, &r->cl);
		if (fd >= 0) {
			r->fd = fd;
			return gwresolve_arm(r);
		}
		/* Out of descriptors or memory here is our shortage, not the gateway's. */
		if (!listener_shortage(-fd))
			gwresolve_report(r, false);
	}
	return -EHOSTUNREACH;
}

/* This gateway did not answer: ask the next one, or give up (the name is faked). */
static void gwresolve_next(struct gwresolve_req *r)
{
	gwresolve_report(r, false);
	s5client_cancel(r->cl);
	r->cl = NULL;
	close(r->fd);
	r->fd = -1;
	if (gwresolve_ask(r))
		gwresolve_finish(r, -EHOSTUNREACH);
}

static void gwresolve_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd,
			    bool final)
{
	struct gwresolve_req *r = arg;

	r->cl = NULL;
	ev_timer_stop(r->g->loop, &r->timer);
	if (err == EACCES || err == EPROTO) {
		if (err == EACCES)
			log_warnx("gateway %s refused the RESOLVE lookup's login (no acceptable "
				  "method or wrong credentials)",
				  r->gw->name);
		gwresolve_report(r, false);
		gwresolve_finish(r, -err); /* it answered, but cannot tell */
	} else if (err) {
		gwresolve_next(r);
	} else {
		gwresolve_report(r, true);
		/* 0x04 is the gateway's "the name does not exist / has no address". */
		gwresolve_finish(r, rep == SOCKS5_REP_SUCCEEDED		 ? 1
				    : rep == SOCKS5_REP_HOST_UNREACHABLE ? 0
									 : -EOPNOTSUPP);
	}
}

static void gwresolve_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	gwresolve_next(container_of(t, struct gwresolve_req, timer));
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
	err = socks5_addr_set_name(&r->dst, name, 0);
	if (err) {
		free(r);
		return err;
	}
	srvlist_iter_start_key(&r->via, g->cfg.servers, name, ev_now(g->loop));
	list_add(&r->link, &g->reqs);
	err = gwresolve_ask(r);
	if (err)
		gwresolve_req_free(r);
	return err;
}

void gwresolve_cancel(void *arg, void *ctx)
{
	struct gwresolve *g = arg;

	struct gwresolve_req *r;

	list_for_each_entry(r, &g->reqs, link)
	{
		if (r->ctx == ctx) {
			gwresolve_req_free(r);
			return;
		}
	}
}
