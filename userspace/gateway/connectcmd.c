/* connectcmd.c — CONNECT: Happy Eyeballs to the destination, the reply, then the relay. */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "netmon.h"
#include "session.h"

static void connectcmd_connected(void *arg, int fd, int err, const struct sockaddr *peer)
{
	struct session *s = arg;
	uint8_t buf[SOCKS5_REPLY_MAX];
	struct sockaddr_storage bnd;
	socklen_t blen = sizeof(bnd);

	s->happy = NULL;
	if (fd < 0) {
		session_fail(s, socks5_rep_from_errno(err), "connect failed", err);
		return;
	}
	s->ofd = fd;
	memcpy(&s->via, peer, addr_sa_len(peer));
	/* A handed-over connection gets no reply: no BND.ADDR to look up. */
	if (s->handoff) {
		session_reply_then_relay(s, NULL, 0);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&bnd, &blen) < 0) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "getsockname", errno);
		return;
	}
	session_reply_then_relay(
	    s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&bnd));
}

/* The family to prefer: the configured one, unless only the other is usable right now. */
static int connectcmd_prefer(struct netmon *nm, int prefer)
{
	int other = prefer == AF_INET6 ? AF_INET : AF_INET6;

	/* No resolution delay for a preferred family the host cannot use right now. */
	if (!netmon_family_usable(nm, prefer) && netmon_family_usable(nm, other))
		return other;
	return prefer;
}

void connectcmd_start(struct session *s, struct socks5_addr *dst)
{
	struct happy_opts o = s->w->happy;
	struct sockaddr_storage ss;
	const char *name = NULL;
	const struct sockaddr *addr = NULL;
	int err;

	if (dst->port == 0) {
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE, "port 0", 0);
		return;
	}
	o.filter = request_filter;
	o.filter_arg = s;
	o.prefer = connectcmd_prefer(s->w->nm, o.prefer);
	if (dst->atyp == SOCKS5_ATYP_DOMAINNAME) {
		name = dst->name;
	} else {
		socks5_addr_to_sockaddr(dst, &ss, NULL);
		addr = (struct sockaddr *)&ss;
	}
	err = happy_start(&s->happy, s->w->loop, s->w->res, &o, name, addr, dst->port,
			  connectcmd_connected, s);
	if (err)
		session_fail(s, socks5_rep_from_errno(err), "connect", -err);
}
