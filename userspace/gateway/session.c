/* session.c — one client connection: setup, output buffer, final reply, relay, the log line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "authpool.h"
#include "bindcmd.h"
#include "chain.h"
#include "log.h"
#include "netutil.h"
#include "session.h"
#include "udp.h"

/* How long a failure reply waits for the client to close before the socket is dropped. */
#define SESSION_LINGER_MS 2000

static void session_client_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* "via" of the log line: the address used, through which upstream if any. */
static void session_format_via(const struct session *s, char *buf, size_t len)
{
	char addr[ADDR_STRLEN] = "-";

	if (s->via.sa.sa_family)
		addr_format(&s->via.sa, addr, sizeof(addr));
	if (s->upname)
		snprintf(buf, len, "upstream:%.64s(%s)", s->upname, addr);
	else
		snprintf(buf, len, "%s", addr);
}

static void session_log(struct session *s)
{
	char client[ADDR_STRLEN], via[ADDR_STRLEN + 80], user[1100], dst[300], dest[1100],
	    result[160];
	uint64_t up = 0, down = 0;
	int n;

	/* Formatting costs even when log_info drops the line: skip it below info. */
	if (log_get_level() < LOG_LVL_INFO)
		return;
	if (s->state == SESSION_RELAY || s->relay.loop) {
		up = relay_bytes_ab(&s->relay);
		down = relay_bytes_ba(&s->relay);
	}
	session_format_via(s, via, sizeof(via));
	addr_format(&s->client.sa, client, sizeof(client));
	if (s->dst)
		socks5_addr_format(s->dst, dst, sizeof(dst));
	else if (s->dest)
		snprintf(dst, sizeof(dst), "%s", s->dest);
	n = snprintf(result, sizeof(result), "%s%s%s", s->why ? s->why : "closed",
		     s->err ? ": " : "", s->err ? strerror(s->err) : "");
	if (s->rep > 0 && n >= 0 && (size_t)n < sizeof(result))
		snprintf(result + n, sizeof(result) - (size_t)n, " (rep 0x%02x)", s->rep);
	log_info("conn client=%s user=%s dest=%s via=%s up=%llu down=%llu ms=%llu result=\"%s\"",
		 client, log_escape(s->user, user, sizeof(user)),
		 log_escape(s->dst || s->dest ? dst : NULL, dest, sizeof(dest)), via,
		 (unsigned long long)up, (unsigned long long)down,
		 (unsigned long long)(ev_now(s->w->loop) - s->start_ms), result);
}

static void session_free(struct session *s)
{
	struct worker *w = s->w;

	if (s->state == SESSION_RELAY)
		relay_stop(&s->relay);
	else if (s->creg)
		ev_io_del(w->loop, s->cfd);
	happy_cancel(s->happy);
	resolv_cancel(s->query);
	udp_assoc_free(s->udp);
	chain_cancel(s->chain, false);
	bindcmd_cancel(s->bind);
	if (s->job)
		authpool_cancel(w->gw->authpool, s->job);
	ev_timer_stop(w->loop, &s->timer);
	if (s->ofd >= 0)
		close(s->ofd);
	close(s->cfd);
	list_del(&s->link);
	free(s->hs);
	free(s->user);
	free(s->dst);
	free(s->dest);
	free(s->upname);
	free(s);
	atomic_fetch_sub(&w->gw->nconns, 1);
	worker_session_gone(w);
}

void session_end(struct session *s, const char *why, int err)
{
	if (why) {
		s->why = why;
		s->err = err;
	}
	session_log(s);
	session_free(s);
}

void session_abort(struct session *s, const char *why)
{
	session_end(s, why, 0);
}

int session_watch(struct session *s, unsigned events)
{
	int err = 0;

	if (events == s->creg)
		return 0;
	if (!events)
		ev_io_del(s->w->loop, s->cfd);
	else if (!s->creg)
		err = ev_io_add(s->w->loop, s->cfd, events, session_client_cb, s);
	else
		err = ev_io_mod(s->w->loop, s->cfd, events);
	if (!err)
		s->creg = (uint8_t)events;
	return err;
}

int session_flush(struct session *s)
{
	struct session_hs *hs = s->hs;

	while (hs->out_off < hs->out_len) {
		ssize_t n =
		    send(s->cfd, hs->out + hs->out_off, hs->out_len - hs->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n < 0)
			return -errno;
		hs->out_off += (uint16_t)n;
	}
	hs->out_len = hs->out_off = 0;
	return 0;
}

int session_write_ready(struct session *s)
{
	int ret = session_flush(s);

	if (ret < 0) {
		session_end(s, "client write", -ret);
		return -1;
	}
	if (ret == 0 && session_watch(s, EV_READ) < 0)
		return -1;
	return 0;
}

void session_queue(struct session *s, const uint8_t *buf, size_t n)
{
	memcpy(s->hs->out + s->hs->out_len, buf, n);
	s->hs->out_len += (uint16_t)n;
}

/* Runs the linger state: flush, then half-close and wait for EOF (bounded by a timer). */
static void session_linger_step(struct session *s)
{
	int ret = session_flush(s);

	if (ret < 0) {
		session_end(s, NULL, 0);
		return;
	}
	if (ret == 0)
		shutdown(s->cfd, SHUT_WR);
	if (session_watch(s, EV_READ | (ret ? EV_WRITE : 0)) < 0)
		session_end(s, NULL, 0);
}

void session_discard(struct session *s)
{
	uint8_t buf[512];
	ssize_t n = recv(s->cfd, buf, sizeof(buf), 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		session_end(s, NULL, 0);
}

void session_finish_with(struct session *s, const uint8_t *buf, size_t n, const char *why, int err)
{
	/* The program behind a handed-over connection speaks no SOCKS5: a failure is a reset. */
	if (s->handoff) {
		netutil_reset_on_close(s->cfd, true);
		session_end(s, why, err);
		return;
	}
	s->why = why;
	s->err = err;
	s->state = SESSION_LINGER;
	/* Appended: a choice or auth reply still queued goes out first. */
	session_queue(s, buf, n);
	ev_timer_start(s->w->loop, &s->timer, SESSION_LINGER_MS);
	session_linger_step(s);
}

void session_fail(struct session *s, uint8_t rep, const char *why, int err)
{
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n = socks5_build_reply(buf, rep, NULL);

	s->rep = rep;
	session_finish_with(s, buf, n, why, err);
}

static void session_relay_done(struct relay *r, enum relay_result res, int err, void *arg)
{
	struct session *s = arg;

	/* The relay unregistered itself: session_free must not stop it again. */
	s->state = SESSION_LINGER;
	s->creg = 0;
	/* A reset (or any failure) on one side reaches the client as a reset, not as an EOF
	 * that would make a cut transfer look complete. */
	if (res == RELAY_ERROR)
		netutil_reset_on_close(s->cfd, true);
	session_end(s, relay_result_str(res), err);
}

/* A relayed session keeps its destination only for the log line: a string of its length
 * instead of a 264-byte struct, for every one of 100,000 connections. */
static void session_shrink_dst(struct session *s)
{
	char buf[300];

	if (!s->dst)
		return;
	s->dest = strdup(socks5_addr_format(s->dst, buf, sizeof(buf)));
	if (!s->dest)
		return;
	free(s->dst);
	s->dst = NULL;
}

static void session_start_relay(struct session *s)
{
	struct worker *w = s->w;
	struct session_hs *hs = s->hs;
	int err;

	session_watch(s, 0);
	ev_timer_stop(w->loop, &s->timer);
	netutil_nodelay(s->ofd);
	err = relay_start(&s->relay, w->loop, w->pool, s->cfd, s->ofd, hs->in, hs->in_len,
			  w->snap->conf.idle_timeout_s * 1000u, session_relay_done, s);
	if (err < 0) {
		session_end(s, "relay", -err);
		return;
	}
	s->state = SESSION_RELAY;
	s->hs = NULL;
	free(hs);
	session_shrink_dst(s);
}

void session_reply_then_relay(struct session *s, const uint8_t *buf, size_t n)
{
	int ret;

	s->rep = SOCKS5_REP_SUCCEEDED;
	if (s->handoff) {
		session_start_relay(s);
		return;
	}
	session_queue(s, buf, n);
	ret = session_flush(s);
	if (ret < 0) {
		session_end(s, "client gone before reply", -ret);
		return;
	}
	if (ret == 0) {
		session_start_relay(s);
		return;
	}
	s->state = SESSION_REPLYING;
	if (session_watch(s, EV_WRITE) < 0)
		session_end(s, "ev", ENOMEM);
}

static void session_client_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct session *s = arg;
	int ret;

	switch (s->state) {
	case SESSION_GREETING:
	case SESSION_AUTH:
	case SESSION_AUTH_WAIT:
	case SESSION_REQUEST:
		handshake_io(s, events);
		break;
	case SESSION_REPLYING:
		ret = session_flush(s);
		if (ret < 0)
			session_end(s, "client gone before reply", -ret);
		else if (ret == 0)
			session_start_relay(s);
		break;
	case SESSION_LINGER:
		if (events & EV_WRITE)
			session_linger_step(s);
		else if (events & EV_READ)
			session_discard(s);
		break;
	case SESSION_UDP:
		udpctl_io(s, events);
		break;
	case SESSION_BINDING:
		bindreply_io(s, events);
		break;
	default:
		break;
	}
}

/* Stops whatever works on the request; an upstream is told it timed out only if it was slow. */
static void session_cancel_work(struct session *s, bool upstream_timeout)
{
	happy_cancel(s->happy);
	s->happy = NULL;
	resolv_cancel(s->query);
	s->query = NULL;
	chain_cancel(s->chain, upstream_timeout);
	s->chain = NULL;
	bindcmd_cancel(s->bind);
	s->bind = NULL;
}

static void session_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct session *s = container_of(t, struct session, timer);

	switch (s->state) {
	case SESSION_CONNECTING:
		session_cancel_work(s, true);
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "connect timeout", ETIMEDOUT);
		break;
	case SESSION_BINDING:
		/* Waiting for the peer is not the upstream's fault. */
		session_cancel_work(s, false);
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "bind timeout", ETIMEDOUT);
		break;
	case SESSION_LINGER:
		session_end(s, NULL, 0);
		break;
	case SESSION_REPLYING:
		session_end(s, "client not reading the reply", 0);
		break;
	default:
		session_end(s, "handshake timeout", 0);
		break;
	}
}

/* A session for fd, in the worker's list; NULL (fd closed) when out of memory. */
static struct session *session_alloc(struct worker *w, int fd, const struct sockaddr *peer)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s || !(s->hs = calloc(1, sizeof(*s->hs)))) {
		free(s);
		close(fd);
		return NULL;
	}
	s->w = w;
	s->cfd = fd;
	s->ofd = -1;
	s->rep = -1;
	s->start_ms = ev_now(w->loop);
	memcpy(&s->client, peer, addr_sa_len(peer));
	ev_timer_init(&s->timer, session_timer_cb);
	list_add(&s->link, &w->sessions);
	w->nsessions++;
	atomic_fetch_add(&w->gw->nconns, 1);
	return s;
}

int session_new(struct worker *w, int fd, const struct sockaddr *peer)
{
	struct session *s = session_alloc(w, fd, peer);
	int err;

	if (!s)
		return -ENOMEM;
	err = session_watch(s, EV_READ);
	if (!err)
		err = ev_timer_start(w->loop, &s->timer, w->snap->conf.handshake_timeout_s * 1000u);
	if (err) {
		session_end(s, "setup", -err);
		return err;
	}
	/* A client that pipelines (or sent its greeting in the SYN, TCP Fast Open) has bytes
	 * waiting already: read them now rather than after one more trip through epoll. */
	handshake_io(s, EV_READ);
	return 0;
}

int session_new_handoff(struct worker *w, int fd, const struct sockaddr *peer, const uint8_t *req,
			size_t len)
{
	struct session *s = session_alloc(w, fd, peer);

	if (!s)
		return -ENOMEM;
	s->handoff = 1;
	s->state = SESSION_REQUEST;
	/* request_parse starts the connect timer; a failure ends the session itself. */
	request_parse(s, req, len);
	return 0;
}
