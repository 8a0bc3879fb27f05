/* dnsd_tcp.c — the DNS responder's TCP clients: accepting, length framing, output queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd_int.h"
#include "ev.h"
#include "log.h"

#define DNSD_MAX_TCP 64
/*
 * A client has this long to complete a query, counted from the accept, from its
 * previous complete query or from our previous answer: bytes trickled in do not
 * extend it (a slowloris would otherwise hold its slot for ever).
 */
#define DNSD_TCP_QUERY_MS 10000
/* A TCP client that stops reading is dropped once this much output waits for it. */
#define DNSD_TCP_OUT_MAX (256 * 1024)

static void dnsd_tcp_close(struct dnsd_tcp *c)
{
	struct dnsd *d = c->d;

	ev_timer_stop(d->loop, &c->deadline);
	if (c->registered)
		ev_io_del(d->loop, c->fd);
	close(c->fd);
	list_del(&c->link);
	d->nconns--;
	free(c->out);
	free(c);
}

/* Drops a connection now; queries still pending forget it and answer nobody. */
void dnsd_tcp_abort(struct dnsd_tcp *c)
{
	struct dnsd_pending *p;

	list_for_each_entry(p, &c->d->pending, link) if (p->client.conn == c) p->client.conn = NULL,
									      p->client.ufd = -1;
	c->npending = 0;
	dnsd_tcp_close(c);
}

static int dnsd_tcp_flush(struct dnsd_tcp *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static void dnsd_tcp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* Registers for what the connection still needs, or closes it when it needs nothing. */
void dnsd_tcp_update(struct dnsd_tcp *c)
{
	unsigned want = (c->eof ? 0 : EV_READ) | (c->out_len ? EV_WRITE : 0);
	int err = 0;

	if (!want) {
		if (c->eof && !c->npending) {
			dnsd_tcp_close(c);
			return;
		}
		if (c->registered)
			ev_io_del(c->d->loop, c->fd);
		c->registered = false;
		return;
	}
	if (c->registered)
		err = ev_io_mod(c->d->loop, c->fd, want);
	else
		err = ev_io_add(c->d->loop, c->fd, want, dnsd_tcp_cb, c);
	if (err)
		dnsd_tcp_abort(c);
	else
		c->registered = true;
}

/* A new period to complete the next query starts now. */
static void dnsd_tcp_rearm(struct dnsd_tcp *c)
{
	c->since_ms = ev_now(c->d->loop);
	if (ev_timer_start(c->d->loop, &c->deadline, DNSD_TCP_QUERY_MS))
		shutdown(c->fd, SHUT_RDWR); /* no timer, no way to bound it: let it go */
}

static int dnsd_tcp_queue(struct dnsd_tcp *c, const uint8_t *msg, size_t len)
{
	size_t need = c->out_len + 2 + len;

	if (need > DNSD_TCP_OUT_MAX)
		return -ENOBUFS;
	if (need > c->out_cap) {
		uint8_t *o = realloc(c->out, need);

		if (!o)
			return -ENOMEM;
		c->out = o;
		c->out_cap = need;
	}
	dns_tcp_prefix(c->out + c->out_len, len);
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len = need;
	return 0;
}

/* Queues one answer; a client that cannot take it is shut down. */
void dnsd_tcp_send(struct dnsd_tcp *c, const uint8_t *msg, size_t len)
{
	if (dnsd_tcp_queue(c, msg, len) || dnsd_tcp_flush(c)) {
		/* The pending query that called us frees its reference afterwards. */
		c->eof = true;
		c->out_len = c->out_off = 0;
		shutdown(c->fd, SHUT_RDWR);
	}
	dnsd_tcp_rearm(c);
}

static int dnsd_tcp_consume(struct dnsd_tcp *c)
{
	struct dnsd_client client = {.ufd = -1, .conn = c};
	size_t off = 0, mlen;
	int r;

	while ((r = dns_tcp_frame(c->in + off, c->in_len - off, &mlen)) > 0) {
		/* Answers to earlier messages may close nothing: npending keeps c alive. */
		c->npending++;
		dnsd_handle(c->d, &client, c->in + off + 2, mlen);
		c->npending--;
		off += 2 + mlen;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		dnsd_tcp_rearm(c);
	}
	return r < 0 ? r : 0;
}

static void dnsd_tcp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dnsd_tcp *c = arg;
	ssize_t n;

	if (events & EV_WRITE && dnsd_tcp_flush(c)) {
		dnsd_tcp_abort(c);
		return;
	}
	if (events & (EV_READ | EV_ERROR) && !c->eof) {
		n = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			dnsd_tcp_abort(c);
			return;
		}
		if (n == 0)
			c->eof = true;
		if (n > 0) {
			c->in_len += (size_t)n;
			if (dnsd_tcp_consume(c))
				c->eof = true; /* a zero length: answer what came before, stop */
		}
	}
	dnsd_tcp_update(c);
}

static void dnsd_tcp_expired(struct ev_loop *loop, struct ev_timer *t)
{
	struct dnsd_tcp *c = container_of(t, struct dnsd_tcp, deadline);

	/* Its queries are bounded by their own timeout; their answer starts a new period. */
	if (c->npending) {
		dnsd_tcp_rearm(c);
		return;
	}
	log_debug("dnsd: TCP client gave no complete query in %d ms, closed", DNSD_TCP_QUERY_MS);
	dnsd_tcp_abort(c);
}

/*
 * The client to drop for a new one when every slot is taken: the one whose
 * period started longest ago, preferring one with no query in flight and no
 * answer waiting (idle or trickling an incomplete query).
 */
static struct dnsd_tcp *dnsd_tcp_victim(struct dnsd *d)
{
	struct dnsd_tcp *c, *idle = NULL, *any = NULL;

	list_for_each_entry(c, &d->conns, link)
	{
		if (!any || c->since_ms < any->since_ms)
			any = c;
		if (!c->npending && !c->out_len && (!idle || c->since_ms < idle->since_ms))
			idle = c;
	}
	return idle ? idle : any;
}

void dnsd_tcp_accepted(void *arg, int cfd, const struct sockaddr *peer)
{
	struct dnsd *d = arg;
	struct dnsd_tcp *c;

	if (d->nconns >= DNSD_MAX_TCP) {
		log_debug("dnsd: %d TCP clients, dropping the oldest for a new one", DNSD_MAX_TCP);
		dnsd_tcp_abort(dnsd_tcp_victim(d));
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->d = d;
	c->fd = cfd;
	ev_timer_init(&c->deadline, dnsd_tcp_expired);
	list_add(&c->link, &d->conns);
	d->nconns++;
	dnsd_tcp_rearm(c);
	dnsd_tcp_update(c);
}
