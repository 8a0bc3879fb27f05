/* gwprobe.c — the gateways' health checks: a SOCKS5 exchange with each, at start-up and
 * periodically. */
#include "gwprobe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "s5client.h"
#include "srvlist.h"

struct gwprobe_one {
	struct gwprobe *p;
	struct srv *s;
	struct s5client *cl;
	int fd;
	bool chosen; /* the gateway chose a method: it is alive */
	bool done;
	struct ev_timer timer;
};

struct gwprobe {
	struct ev_loop *loop;
	struct gwprobe_one one[SRVLIST_MAX];
	unsigned n, left, answered;
	unsigned timeout_ms, interval_ms;
	unsigned rounds; /* finished */
	uint32_t mark;
	struct socks5_addr dst;
	struct ev_timer tick; /* the next round */
};

static void gwprobe_round(struct gwprobe *p);

static void gwprobe_end(struct gwprobe_one *o)
{
	ev_timer_stop(o->p->loop, &o->timer);
	s5client_cancel(o->cl);
	o->cl = NULL;
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->done = true;
}

/* The check's verdict on one gateway; a change is logged. */
static void gwprobe_verdict(struct gwprobe_one *o, bool up)
{
	bool was_down = srv_is_down(o->s);

	srv_health(o->s, up);
	if (up && was_down)
		log_warnx("gateway %s answers again: back in use", o->s->name);
	else if (!up && !was_down)
		log_warnx("gateway %s failed its health check: skipped until it answers",
			  o->s->name);
}

/* One gateway is settled; after the last one, the verdict and the next round's timer. */
static void gwprobe_settled(struct gwprobe_one *o, bool answered, bool up)
{
	struct gwprobe *p = o->p;

	gwprobe_end(o);
	if (p->interval_ms)
		gwprobe_verdict(o, up);
	p->answered += answered;
	if (--p->left)
		return;
	if (!p->answered && !p->rounds)
		log_warnx("no gateway answers (%u configured): redirected connections fail until "
			  "one does",
			  p->n);
	p->rounds++;
	if (p->interval_ms && ev_timer_start(p->loop, &p->tick, p->interval_ms))
		log_warnx("gateway health checks stop: no timer");
}

static void gwprobe_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd,
			  bool final)
{
	struct gwprobe_one *o = arg;

	o->cl = NULL;
	if (err == EACCES && !srv_is_down(o->s))
		log_warnx("gateway %s refuses the agent's login (no acceptable method or wrong "
			  "credentials): check user and password-file",
			  o->s->name);
	else if (err && !o->chosen && !o->p->rounds)
		log_info("gateway %s does not answer: %s", o->s->name, strerror(err));
	/* A refused login is an answer (the warning above says what is wrong), but connections
	 * through that gateway would fail: it is down. */
	gwprobe_settled(o, !err || o->chosen || err == EACCES,
			err != EACCES && (!err || o->chosen));
}

static void gwprobe_chosen(void *arg)
{
	struct gwprobe_one *o = arg;

	o->chosen = true;
}

static void gwprobe_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct gwprobe_one *o = container_of(t, struct gwprobe_one, timer);

	if (!o->chosen && !o->p->rounds)
		log_info("gateway %s does not answer within %u ms", o->s->name, o->p->timeout_ms);
	gwprobe_settled(o, o->chosen, o->chosen);
}

static void gwprobe_collect(const struct srv *s, void *arg)
{
	struct gwprobe *p = arg;

	if (p->n < SRVLIST_MAX)
		p->one[p->n++].s = srv_ref((struct srv *)s);
}

static void gwprobe_dial(struct gwprobe_one *o)
{
	struct gwprobe *p = o->p;

	o->chosen = false;
	o->done = false;
	o->fd =
	    srv_dial(o->s, p->loop, p->mark, SOCKS5_CMD_RESOLVE, &p->dst, gwprobe_reply, o, &o->cl);
	if (o->fd < 0) {
		if (!p->rounds)
			log_info("gateway %s: %s", o->s->name, strerror(-o->fd));
		gwprobe_settled(o, false, false);
		return;
	}
	s5client_on_chosen(o->cl, gwprobe_chosen);
	ev_timer_start(p->loop, &o->timer, p->timeout_ms);
}

/* Asks every gateway; the last one to settle arms the next round. */
static void gwprobe_round(struct gwprobe *p)
{
	p->left = p->n;
	p->answered = 0;
	for (unsigned i = 0; i < p->n; i++)
		gwprobe_dial(&p->one[i]);
}

static void gwprobe_tick(struct ev_loop *loop, struct ev_timer *t)
{
	gwprobe_round(container_of(t, struct gwprobe, tick));
}

int gwprobe_start(struct gwprobe **out, struct ev_loop *loop, struct srvlist *l, uint32_t mark,
		  unsigned timeout_ms, unsigned interval_ms)
{
	struct gwprobe *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	err = socks5_addr_set_name(&p->dst, "localhost", 0);
	if (err) {
		free(p);
		return err;
	}
	p->loop = loop;
	p->mark = mark;
	p->timeout_ms = timeout_ms;
	p->interval_ms = interval_ms;
	ev_timer_init(&p->tick, gwprobe_tick);
	srvlist_walk(l, gwprobe_collect, p);
	for (unsigned i = 0; i < p->n; i++) {
		p->one[i].p = p;
		p->one[i].fd = -1;
		p->one[i].done = true;
		ev_timer_init(&p->one[i].timer, gwprobe_timeout);
	}
	*out = p;
	if (!p->n)
		return 0;
	gwprobe_round(p);
	return 0;
}

void gwprobe_free(struct gwprobe *p)
{
	if (!p)
		return;
	ev_timer_stop(p->loop, &p->tick);
	for (unsigned i = 0; i < p->n; i++) {
		if (!p->one[i].done)
			gwprobe_end(&p->one[i]);
		srv_free(p->one[i].s);
	}
	free(p);
}
