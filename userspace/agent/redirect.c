/* redirect.c — accepts redirected connections, forwards each as a SOCKS5 CONNECT, relays. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bpfload.h"
#include "ev.h"
#include "fastpath.h"
#include "fakeip.h"
#include "handoff.h"
#include "list.h"
#include "listener.h"
#include "log.h"
#include "netutil.h"
#include "origdst.h"
#include "prefix.h"
#include "redirect.h"
#include "relay.h"
#include "s5client.h"
#include "socks5.h"
#include "srvlist.h"
#include "target.h"

#define REDIRECT_BACKLOG 4096

#define REDIRECT_AUTH_REFUSED "authentication refused (no acceptable method or wrong credentials)"

enum redirect_state {
	RC_CONNECTING, /* TCP connect and greeting under way: the gateway has not answered */
	RC_HANDSHAKE,  /* the gateway chose the method; waiting for its reply to the request */
	RC_RELAY,
};

/* An IPv4 or IPv6 address: a sockaddr_storage would be 100 bytes more per connection. */
union redirect_sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* Held per relayed connection, 100,000 of them at once: what only the handshake needs is
 * allocated apart and freed when the relay starts. */
struct redirect_conn {
	struct redirect *r;
	int cfd, gfd;
	enum redirect_state state;
	struct s5client *cl; /* the handshake with the gateway, NULL outside it */
	struct s46_conn_val orig;
	union redirect_sa client, origsa;
	struct socks5_addr *target; /* what the gateway is asked for; NULL once relaying */
	char *target_str;	    /* the same for logs and status */
	int fake_af;		    /* 0: not a fake address, nothing held */
	uint8_t fake_addr[16];
	struct srvlist_iter via; /* the gateways, in failover order */
	struct srv *gw;		 /* gateway in use, NULL before the first */
	bool counted;		 /* relaying: counted in gw's connections in flight */
	uint64_t start_ms;
	struct ev_timer timer;
	struct relay relay;
	struct fastpath_pair fast; /* instead of relay when on_fast */
	bool on_fast;
	bool relay_done;       /* the relay finished and unregistered its fds itself */
	struct list_head link; /* in the redirect's conns */
};

struct redirect {
	struct ev_loop *loop;
	struct redirect_config cfg;
	struct bpfload *bpf;
	uint64_t netns_cookie;
	struct fakeip *table;
	const struct fakeip_config *fcfg;
	struct relay_pool *pool;
	struct fastpath *fast;	  /* NULL: the userspace relay moves the bytes */
	struct handoff *handoff;  /* NULL: every connection goes to the TCP gateways */
	struct listener listener; /* 127.0.0.1 and ::1 */
	uint16_t port;
	struct redirect_stats stats;
	struct list_head conns;
};

static void redirect_next_gateway(struct redirect_conn *c);

/* Keeps an IPv4 or IPv6 address (anything else is kept as an empty family). */
static void redirect_sa_set(union redirect_sa *to, const struct sockaddr_storage *ss)
{
	memset(to, 0, sizeof(*to));
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		memcpy(to, ss, addr_sa_len((const struct sockaddr *)ss));
}

static uint64_t redirect_now_s(void)
{
	return (uint64_t)time(NULL);
}

static void redirect_conn_free(struct redirect_conn *c, bool reset)
{
	struct redirect *r = c->r;

	ev_timer_stop(r->loop, &c->timer);
	if (c->state == RC_RELAY && !c->relay_done) {
		if (c->on_fast)
			fastpath_stop(&c->fast);
		else
			relay_stop(&c->relay);
	} else if (c->state != RC_RELAY) {
		s5client_cancel(c->cl);
	}
	if (reset)
		netutil_reset_on_close(c->cfd, true);
	close(c->cfd);
	if (c->gfd >= 0)
		close(c->gfd);
	if (c->fake_af)
		fakeip_release(r->table, c->fake_af, c->fake_addr, redirect_now_s());
	if (c->counted)
		srv_conn_end(c->gw);
	srvlist_iter_end(&c->via);
	list_del(&c->link);
	free(c->target);
	free(c->target_str);
	free(c);
}

/* What the gateway is asked for (target_of); a fake address is held while in use. */
static int redirect_target(struct redirect_conn *c)
{
	struct redirect *r = c->r;
	const struct sockaddr *sa = &c->origsa.sa;
	char str[300];
	uint8_t a[16];
	bool fake;
	int err, af;

	c->target = malloc(sizeof(*c->target));
	if (!c->target)
		return -ENOMEM;
	err = target_of(&r->cfg.target, r->table, r->fcfg, sa, c->target, &fake);
	if (err)
		return err;
	af = prefix_sa_bytes(sa, a);
	if (fake && !fakeip_hold(r->table, af, a, redirect_now_s())) {
		c->fake_af = af;
		memcpy(c->fake_addr, a, af == AF_INET ? 4 : 16);
	}
	socks5_addr_format(c->target, str, sizeof(str));
	c->target_str = strdup(str);
	return c->target_str ? 0 : -ENOMEM;
}

/* What the hash policy keeps on one gateway: the destination's name, or its address. */
static const char *redirect_site(const struct redirect_conn *c, char *buf, size_t len)
{
	const struct socks5_addr *t = c->target;

	if (t->atyp == SOCKS5_ATYP_DOMAINNAME)
		return t->name;
	return inet_ntop(t->atyp == SOCKS5_ATYP_IPV4 ? AF_INET : AF_INET6, &t->v4, buf,
			 (socklen_t)len);
}

static void redirect_gw_failed(struct redirect_conn *c, const char *why)
{
	srv_report(c->gw, false, ev_now(c->r->loop), 1, REDIRECT_GW_BACKOFF_MS);
	/* A refused login is the operator's to fix, not a passing failure: warn. */
	if (!strcmp(why, REDIRECT_AUTH_REFUSED))
		log_warnx("gateway %s skipped for %s: %s", c->gw->name, c->target_str, why);
	else
		log_info("gateway %s skipped for %s: %s", c->gw->name, c->target_str, why);
	ev_timer_stop(c->r->loop, &c->timer);
	s5client_cancel(c->cl);
	c->cl = NULL;
	close(c->gfd);
	c->gfd = -1;
	redirect_next_gateway(c);
}

/* The gateway worked on the request and said no (or went away): the program gets a reset. */
static void redirect_refused(struct redirect_conn *c, const char *why)
{
	log_info("%s via %s: %s", c->target_str, c->gw->name, why);
	c->r->stats.refused++;
	redirect_conn_free(c, true);
}

/* A clean end (both EOFs passed on, or idle) closes with FINs; an error resets both. */
static void redirect_relay_end(struct redirect_conn *c, enum relay_result res)
{
	if (res != RELAY_ERROR) {
		netutil_reset_on_close(c->cfd, false);
		netutil_reset_on_close(c->gfd, false);
	}
	redirect_conn_free(c, res == RELAY_ERROR);
}

static void redirect_relay_done(struct relay *rl, enum relay_result res, int err, void *arg)
{
	struct redirect_conn *c = arg;

	log_debug("%s: relay finished: %s%s%s", c->target_str, relay_result_str(res),
		  err ? ": " : "", err ? strerror(err) : "");
	c->relay_done = true;
	redirect_relay_end(c, res);
}

static void redirect_fast_done(struct fastpath_pair *p, enum relay_result res, int err, void *arg)
{
	struct redirect_conn *c = arg;

	log_debug("%s: fast path finished: %s%s%s", c->target_str, relay_result_str(res),
		  err ? ": " : "", err ? strerror(err) : "");
	c->relay_done = true;
	redirect_relay_end(c, res);
}

/* fd[0] is the gateway, fd[1] the program; the handshake left early server bytes in the
 * socket, the relay (or the kernel) passes them on. */
static int redirect_relay_begin(struct redirect_conn *c)
{
	struct redirect *r = c->r;
	int err;

	/* Until the end is clean, closing resets: an agent killed mid-transfer leaves both
	 * peers an error, never a FIN after part of the bytes. */
	netutil_reset_on_close(c->cfd, true);
	netutil_reset_on_close(c->gfd, true);
	if (!r->fast)
		return relay_start(&c->relay, r->loop, r->pool, c->gfd, c->cfd, NULL, 0,
				   r->cfg.idle_ms, redirect_relay_done, c);
	err = fastpath_start(&c->fast, r->fast, r->loop, c->gfd, c->cfd, redirect_fast_done, c);
	c->on_fast = !err;
	if (err == -ENOSPC) /* the fast path is full: this one is relayed */
		return relay_start(&c->relay, r->loop, r->pool, c->gfd, c->cfd, NULL, 0,
				   r->cfg.idle_ms, redirect_relay_done, c);
	return err;
}

static void redirect_start_relay(struct redirect_conn *c)
{
	struct redirect *r = c->r;
	int err;

	srv_report(c->gw, true, ev_now(r->loop), 1, REDIRECT_GW_BACKOFF_MS);
	err = redirect_relay_begin(c);
	if (err) {
		log_warnx("%s: %s: %s", c->target_str, r->fast ? "fast path" : "relay",
			  strerror(-err));
		redirect_conn_free(c, true);
		return;
	}
	c->state = RC_RELAY;
	free(c->target);
	c->target = NULL;
	srv_conn_begin(c->gw);
	c->counted = true;
	r->stats.forwarded++;
	log_debug("%s via %s: relaying", c->target_str, c->gw->name);
}

/* The gateway chose the method: it is alive, give it the time a name lookup and connect take. */
static void redirect_chosen(void *arg)
{
	struct redirect_conn *c = arg;

	c->state = RC_HANDSHAKE;
	ev_timer_start(c->r->loop, &c->timer, c->r->cfg.reply_ms);
}

static void redirect_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd,
			   bool final)
{
	struct redirect_conn *c = arg;

	c->cl = NULL;
	ev_timer_stop(c->r->loop, &c->timer);
	if (err == EACCES)
		redirect_gw_failed(c, REDIRECT_AUTH_REFUSED);
	else if (err == EPROTO)
		redirect_gw_failed(c, "malformed SOCKS5 answer");
	else if (err && c->state == RC_HANDSHAKE)
		/* The gateway took the request and went away: not a gateway to skip. */
		redirect_refused(c, "gateway closed before replying");
	else if (err)
		redirect_gw_failed(c, strerror(err));
	else if (rep != SOCKS5_REP_SUCCEEDED)
		redirect_refused(c, socks5_rep_str(rep));
	else
		redirect_start_relay(c);
}

static void redirect_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct redirect_conn *c = container_of(t, struct redirect_conn, timer);

	if (c->state == RC_HANDSHAKE)
		redirect_refused(c, "no reply in time");
	else
		redirect_gw_failed(c, "no answer");
}

static void redirect_next_gateway(struct redirect_conn *c)
{
	struct redirect *r = c->r;
	int err;

	while ((c->gw = srvlist_next(&c->via, ev_now(r->loop)))) {
		c->state = RC_CONNECTING;
		err = srv_dial(c->gw, r->loop, r->cfg.mark, SOCKS5_CMD_CONNECT, c->target,
			       redirect_reply, c, &c->cl);
		if (err >= 0) {
			c->gfd = err;
			s5client_on_chosen(c->cl, redirect_chosen);
			/* Skipping a slow gateway only helps when another one is left to try. */
			ev_timer_start(r->loop, &c->timer,
				       srvlist_iter_left(&c->via) ? r->cfg.connect_ms
								  : r->cfg.reply_ms);
			return;
		}
		if (listener_shortage(-err)) {
			/* Our shortage, not the gateway's fault: let the backlog wait instead. */
			listener_pause(&r->listener, -err);
			r->stats.no_gateway++;
			redirect_conn_free(c, true);
			return;
		}
		srv_report(c->gw, false, ev_now(r->loop), 1, REDIRECT_GW_BACKOFF_MS);
		log_info("gateway %s skipped: %s", c->gw->name, strerror(-err));
	}
	log_warnx("%s: no gateway answered", c->target_str);
	r->stats.no_gateway++;
	redirect_conn_free(c, true);
}

/*
 * The gateway on this host takes the program's socket itself and the agent steps out of the
 * path. Returns false when the connection is still here for the TCP gateways; true when it is
 * gone (handed off, or reset with no TCP gateway to fall back to).
 */
static bool redirect_handoff(struct redirect_conn *c)
{
	struct redirect *r = c->r;
	int err = handoff_send(r->handoff, c->cfd, c->target);

	if (!err) {
		log_debug("%s: handed off to the gateway on this host", c->target_str);
		/* The name went to the gateway in the request: nothing here looks the fake address
		 * up for this connection any more, so it is not held (closing our copy of the
		 * descriptor sends no FIN: the gateway's copy keeps the connection open). */
		redirect_conn_free(c, false);
		return true;
	}
	/* handoff_send counted the fallback and warned once for the outage, not per connection. */
	if (srvlist_count(r->cfg.servers))
		return false;
	r->stats.no_gateway++;
	redirect_conn_free(c, true);
	return true;
}

static void redirect_accepted(void *arg, int fd, const struct sockaddr *peer)
{
	struct redirect *r = arg;
	struct redirect_conn *c;
	struct sockaddr_storage ss = {0};
	socklen_t len;
	char buf[ADDR_STRLEN];
	int err;

	r->stats.accepted++;
	netutil_nodelay(fd);
	c = calloc(1, sizeof(*c));
	if (!c) {
		netutil_reset_on_close(fd, true);
		close(fd);
		return;
	}
	c->r = r;
	c->cfd = fd;
	c->gfd = -1;
	c->start_ms = ev_now(r->loop);
	ev_timer_init(&c->timer, redirect_timeout);
	list_add(&c->link, &r->conns);
	/* accept() gave the peer: no getpeername() per connection. */
	memcpy(&ss, peer, addr_sa_len(peer));
	redirect_sa_set(&c->client, &ss);
	err = r->bpf ? origdst_lookup(r->bpf, r->netns_cookie, &c->client.sa, &c->orig) : -ENOENT;
	if (err) {
		log_warnx("connection from %s: no original destination (%s)",
			  addr_format(&c->client.sa, buf, sizeof(buf)), strerror(-err));
		r->stats.no_origdst++;
		redirect_conn_free(c, true);
		return;
	}
	origdst_sockaddr(&c->orig.dst, &ss, &len);
	redirect_sa_set(&c->origsa, &ss);
	err = redirect_target(c);
	if (err) {
		log_warnx("connection to %s: %s", addr_format(&c->origsa.sa, buf, sizeof(buf)),
			  err == -ENOENT   ? "no name behind that address"
			  : err == -EINVAL ? "its name is a literal with a zone (this host's)"
					   : strerror(-err));
		r->stats.no_name++;
		redirect_conn_free(c, true);
		return;
	}
	if (r->handoff && redirect_handoff(c))
		return;
	srvlist_iter_start_key(&c->via, r->cfg.servers, redirect_site(c, buf, sizeof(buf)),
			       ev_now(r->loop));
	redirect_next_gateway(c);
}

/* A listener on the loopback address of af at port (0: any). Returns 0 or -errno. */
static int redirect_listen(struct redirect *r, int af, uint16_t port)
{
	struct sockaddr_storage ss = {.ss_family = af};
	int fd;

	if (af == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	addr_set_port((struct sockaddr *)&ss, port);
	fd = netutil_listen((struct sockaddr *)&ss, false, false, REDIRECT_BACKLOG);
	if (fd < 0)
		return fd;
	r->port = netutil_local_port(fd);
	return listener_add(&r->listener, fd);
}

int redirect_new(struct redirect **out, struct ev_loop *loop, const struct redirect_config *cfg,
		 struct bpfload *b, uint64_t netns_cookie, struct fakeip *table,
		 const struct fakeip_config *fcfg)
{
	struct redirect *r;
	int err;

	/* An empty list is for --handoff alone (redirect_set_handoff). */
	if (!cfg->servers)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->cfg = *cfg;
	r->bpf = b;
	r->netns_cookie = netns_cookie;
	r->table = table;
	r->fcfg = fcfg;
	listener_init(&r->listener, loop, "proxy", redirect_accepted, r);
	list_init(&r->conns);
	err = relay_pool_new(&r->pool, 64);
	if (err)
		goto fail;
	err = redirect_listen(r, AF_INET, cfg->port);
	if (err)
		goto fail;
	/* Same port on ::1; a host without IPv6 loopback still serves IPv4 programs. */
	err = redirect_listen(r, AF_INET6, r->port);
	if (err)
		log_warnx("proxy on [::1]:%u: %s", r->port, strerror(-err));
	err = listener_start(&r->listener);
	if (err)
		goto fail;
	*out = r;
	return 0;
fail:
	redirect_free(r);
	return err;
}

void redirect_free(struct redirect *r)
{
	if (!r)
		return;
	listener_close(&r->listener);
	while (!list_empty(&r->conns))
		redirect_conn_free(list_first_entry(&r->conns, struct redirect_conn, link), false);
	relay_pool_free(r->pool);
	free(r);
}

void redirect_set_bpf(struct redirect *r, struct bpfload *b)
{
	r->bpf = b;
}

void redirect_set_fastpath(struct redirect *r, struct fastpath *fp)
{
	r->fast = fp;
}

void redirect_set_handoff(struct redirect *r, struct handoff *h)
{
	r->handoff = h;
}

uint16_t redirect_port(const struct redirect *r)
{
	return r->port;
}

void redirect_get_stats(const struct redirect *r, struct redirect_stats *out)
{
	*out = r->stats;
}

void redirect_walk(struct redirect *r, redirect_conn_cb *fn, void *arg)
{
	static const char *const states[] = {"connecting", "handshake", "relay"};
	uint64_t now = ev_clock_ms();

	struct redirect_conn *c;

	list_for_each_entry(c, &r->conns, link)
	{
		struct redirect_info ci = {
		    .client = &c->client.sa,
		    .orig = &c->origsa.sa,
		    .target = c->target_str,
		    .gateway = c->gw ? c->gw->name : "",
		    .state = states[c->state],
		    .cookie = c->orig.cookie,
		    .pid = c->orig.pid,
		    .age_ms = now - c->start_ms,
		};

		if (c->state == RC_RELAY && c->on_fast) {
			ci.state = "fast";
			ci.bytes_down = fastpath_bytes(&c->fast, 0);
			ci.bytes_up = fastpath_bytes(&c->fast, 1);
		} else if (c->state == RC_RELAY) {
			ci.bytes_down = relay_bytes_ab(&c->relay);
			ci.bytes_up = relay_bytes_ba(&c->relay);
		}
		fn(&ci, arg);
	}
}

struct redirect_gw_walk {
	redirect_gw_cb *fn;
	void *arg;
	uint64_t now;
};

static void redirect_gw_walk(const struct srv *s, void *arg)
{
	struct redirect_gw_walk *w = arg;

	struct redirect_gw_info gi = {
	    .addr = s->name,
	    .up = !srv_is_bad(s, w->now),
	    .failures = srv_failures(s),
	    .inflight = srv_inflight(s),
	    .total = srv_total(s),
	};

	w->fn(&gi, w->arg);
}

void redirect_walk_gateways(struct redirect *r, redirect_gw_cb *fn, void *arg)
{
	struct redirect_gw_walk w = {.fn = fn, .arg = arg, .now = ev_clock_ms()};

	srvlist_walk(r->cfg.servers, redirect_gw_walk, &w);
}

int redirect_gateways_new(struct srvlist **out, const struct redirect_config *cfg)
{
	struct srvlist *l = NULL;
	struct srv *s;
	int err = srvlist_new(&l);

	if (!err)
		srvlist_set_policy(l, cfg->policy);
	for (unsigned i = 0; !err && i < cfg->ngateways; i++) {
		err = srv_new_addr(&s, (const struct sockaddr *)&cfg->gateways[i], cfg->user,
				   cfg->pass);
		if (!err) {
			err = srvlist_add(l, s);
			srv_free(s);
		}
	}
	if (err) {
		srvlist_free(l);
		return err;
	}
	*out = l;
	return 0;
}
