/* gwprobe.c — one SOCKS5 exchange with each gateway at start-up, for the operator's warnings. */
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
	unsigned timeout_ms;
};

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

/* One gateway is settled; after the last one, the verdict. */
static void gwprobe_settled(struct gwprobe_one *o, bool answered)
{
	struct gwprobe *p = o->p;

	gwprobe_end(o);
	p->answered += answered;
	if (--p->left || p->answered)
		return;
	log_warnx("no gateway answers (%u configured): redirected connections fail until one "
		  "does",
		  p->n);
}

static void gwprobe_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd,
			  bool final)
{
	struct gwprobe_one *o = arg;

	o->cl = NULL;
	if (err == EACCES)
		log_warnx("gateway %s refuses the agent's login (no acceptable method or wrong "
			  "credentials): check user and password-file",
			  o->s->name);
	else if (err && !o->chosen)
		log_info("gateway %s does not answer: %s", o->s->name, strerror(err));
	/* A refused login is an answer: the warning above says what is wrong. */
	gwprobe_settled(o, !err || o->chosen || err == EACCES);
}

static void gwprobe_chosen(void *arg)
{
	struct gwprobe_one *o = arg;

	o->chosen = true;
}

static void gwprobe_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct gwprobe_one *o = container_of(t, struct gwprobe_one, timer);

	if (!o->chosen)
		log_info("gateway %s does not answer within %u ms", o->s->name, o->p->timeout_ms);
	gwprobe_settled(o, o->chosen);
}

static void gwprobe_collect(const struct srv *s, void *arg)
{
	struct gwprobe *p = arg;

	if (p->n < SRVLIST_MAX)
		p->one[p->n++].s = srv_ref((struct srv *)s);
}

static void gwprobe_dial(struct gwprobe_one *o, const struct socks5_addr *dst, uint32_t mark)
{
	struct gwprobe *p = o->p;

	ev_timer_init(&o->timer, gwprobe_timeout);
	o->fd = srv_dial(o->s, p->loop, mark, SOCKS5_CMD_RESOLVE, dst, gwprobe_reply, o, &o->cl);
	if (o->fd < 0) {
		log_info("gateway %s: %s", o->s->name, strerror(-o->fd));
		gwprobe_settled(o, false);
		return;
	}
	s5client_on_chosen(o->cl, gwprobe_chosen);
	ev_timer_start(p->loop, &o->timer, p->timeout_ms);
}

int gwprobe_start(struct gwprobe **out, struct ev_loop *loop, struct srvlist *l, uint32_t mark,
		  unsigned timeout_ms)
{
	struct gwprobe *p = calloc(1, sizeof(*p));
	struct socks5_addr dst;
	int err;

	if (!p)
		return -ENOMEM;
	err = socks5_addr_set_name(&dst, "localhost", 0);
	if (err) {
		free(p);
		return err;
	}
	p->loop = loop;
	p->timeout_ms = timeout_ms;
	srvlist_walk(l, gwprobe_collect, p);
	p->left = p->n;
	for (unsigned i = 0; i < p->n; i++) {
		p->one[i].p = p;
		p->one[i].fd = -1;
	}
	for (unsigned i = 0; i < p->n; i++)
		gwprobe_dial(&p->one[i], &dst, mark);
	*out = p;
	return 0;
}

void gwprobe_free(struct gwprobe *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		if (!p->one[i].done)
			gwprobe_end(&p->one[i]);
		srv_free(p->one[i].s);
	}
	free(p);
}
