/* dnsd_pending.c — DNS queries waiting for the upstream resolver or the existence check. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "dnsd_int.h"
#include "ev.h"
#include "log.h"

#define DNSD_MAX_PENDING 512

static void dnsd_pending_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct dnsd_pending *p = container_of(t, struct dnsd_pending, timer);
	struct dnsd *d = p->d;

	if (p->kind == DNSD_EXISTS) {
		/* Could not tell in time: the name is faked, as without the check. */
		if (d->cfg.exists_cancel)
			d->cfg.exists_cancel(d->cfg.exists_arg, p);
		dnsd_answer_fake(d, &p->client, &p->q);
	} else {
		log_debug("dnsd: upstream timeout for '%s'", p->q.name);
		dnsd_reply(d, &p->client, &p->q, DNS_RCODE_SERVFAIL, NULL, 0);
	}
	dnsd_pending_free(p);
}

int dnsd_pending_new(struct dnsd_pending **out, struct dnsd *d, enum dnsd_pending_kind kind,
		     const struct dnsd_client *c, const struct dns_query *q)
{
	struct dnsd_pending *p;
	int err;

	if (d->npending >= DNSD_MAX_PENDING)
		return -EBUSY;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->d = d;
	p->kind = kind;
	p->client = *c;
	p->q = *q;
	p->fd = -1;
	ev_timer_init(&p->timer, dnsd_pending_timeout);
	if ((err = ev_timer_start(d->loop, &p->timer, d->cfg.timeout_ms)) < 0) {
		free(p);
		return err;
	}
	list_add(&p->link, &d->pending);
	d->npending++;
	if (c->conn)
		c->conn->npending++;
	*out = p;
	return 0;
}

void dnsd_pending_free(struct dnsd_pending *p)
{
	struct dnsd *d = p->d;
	struct dnsd_tcp *conn = p->client.conn;

	ev_timer_stop(d->loop, &p->timer);
	if (p->fd >= 0) {
		ev_io_del(d->loop, p->fd);
		close(p->fd);
	}
	list_del(&p->link);
	d->npending--;
	free(p->msg);
	free(p->rbuf);
	free(p);
	if (conn) {
		conn->npending--;
		dnsd_tcp_update(conn);
	}
}
