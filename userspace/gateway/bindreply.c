/* bindreply.c — BIND on the client connection: first reply, wait for the peer, second reply. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "bindcmd.h"
#include "session.h"

/* The first reply: sent while the peer is awaited (bounded by bind-timeout). */
void bindreply_first(struct session *s, const uint8_t *buf, size_t n)
{
	int ret;

	session_queue(s, buf, n);
	s->state = SESSION_BINDING;
	ev_timer_start(s->w->loop, &s->timer, s->w->snap->conf.bind_timeout_s * 1000u);
	ret = session_flush(s);
	if (ret < 0)
		session_end(s, "client gone before reply", -ret);
	else if (session_watch(s, EV_READ | (ret ? EV_WRITE : 0)) < 0)
		session_end(s, "ev", ENOMEM);
}

/*
 * While BIND waits, a client that leaves must free the port at once; bytes it
 * sends early belong to the peer, so they are only peeked at and stay queued.
 */
void bindreply_io(struct session *s, unsigned events)
{
	unsigned want = EV_READ;
	int ret = 0;
	uint8_t c;

	if (events & EV_WRITE) {
		ret = session_flush(s);
		if (ret < 0) {
			session_end(s, "client write", -ret);
			return;
		}
	}
	if (events & EV_READ) {
		ssize_t n = recv(s->cfd, &c, 1, MSG_PEEK);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			session_end(s, "client closed during bind", n < 0 ? errno : 0);
			return;
		}
		if (n > 0)
			want = 0;
	}
	if (!(s->creg & EV_READ))
		want = 0;
	session_watch(s, want | (ret ? EV_WRITE : 0));
}

static void bindreply_cb(void *arg, int fd, int err, const struct sockaddr *addr, bool final)
{
	struct session *s = arg;
	uint8_t buf[SOCKS5_REPLY_MAX];

	if (final)
		s->bind = NULL;
	if (err) {
		session_fail(s, socks5_rep_from_errno(err), "bind failed", err);
		return;
	}
	if (!final) {
		bindreply_first(s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, addr));
		return;
	}
	s->ofd = fd;
	memcpy(&s->via, addr, addr_sa_len(addr));
	session_reply_then_relay(s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, addr));
}

/* BIND without an upstream: listen here for the peer. */
void bindreply_start(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct bindcmd_opts o = {
	    .prefer = s->w->happy.prefer, .filter = request_filter, .filter_arg = s};
	int err;

	if (getsockname(s->cfd, (struct sockaddr *)&local, &len) == 0)
		o.ctl_local = (struct sockaddr *)&local;
	err = bindcmd_start(&s->bind, s->w->loop, s->w->res, &o, dst, bindreply_cb, s);
	if (err)
		session_fail(s, socks5_rep_from_errno(err), "bind", -err);
}
