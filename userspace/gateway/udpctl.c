/* udpctl.c — UDP ASSOCIATE's control connection: the reply, then watched only for its end. */
#include <errno.h>
#include <sys/socket.h>

#include "addr.h"
#include "session.h"
#include "udp.h"

/* The association lives as long as this control connection. */
void udpctl_start(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage local, bnd;
	socklen_t llen = sizeof(local);
	uint8_t buf[SOCKS5_REPLY_MAX];
	int err, ret;

	if (getsockname(s->cfd, (struct sockaddr *)&local, &llen) < 0) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "getsockname", errno);
		return;
	}
	addr_unmap(&local);
	err = udp_assoc_new(&s->udp, s->w, s->cfd, (struct sockaddr *)&local, &s->client.sa, dst,
			    s->user, &bnd);
	if (err) {
		session_fail(s, socks5_rep_from_errno(err), "udp associate", -err);
		return;
	}
	ev_timer_stop(s->w->loop, &s->timer);
	s->rep = SOCKS5_REP_SUCCEEDED;
	s->why = "udp association closed";
	session_queue(s, buf,
		      socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&bnd));
	s->state = SESSION_UDP;
	ret = session_flush(s);
	if (ret < 0 || session_watch(s, EV_READ | (ret ? EV_WRITE : 0)) < 0)
		session_end(s, "client gone before reply", ret < 0 ? -ret : 0);
}

/* The control connection carries nothing; its end (or an error) ends the association. */
void udpctl_io(struct session *s, unsigned events)
{
	if ((events & EV_WRITE) && session_write_ready(s) < 0)
		return;
	if (events & EV_READ)
		session_discard(s);
}
