/* request.c — a request: access rules, an upstream route, or the command that serves it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "chain.h"
#include "destpolicy.h"
#include "netmon.h"
#include "rules.h"
#include "session.h"
#include "upstream.h"

int request_filter(void *arg, const struct sockaddr *sa)
{
	struct session *s = arg;
	/* Each address a name resolved to is judged together with the name. */
	const char *name = s->dst && s->dst->atyp == SOCKS5_ATYP_DOMAINNAME && s->dst->name[0]
			       ? s->dst->name
			       : NULL;
	unsigned cmd = rules_cmd_bit(s->cmd);
	int ret = rules_check_addr(s->w->snap->conf.rules, &s->client.sa, s->user, cmd, name, sa);
	enum destpolicy_why why;

	if (ret < 0)
		return EACCES;
	why = destpolicy_check(&s->w->dpol, s->w->nm, sa, ret == 1);
	/* A BIND address is a peer let in, not a place the gateway goes: only nonsense is out. */
	if (why && (s->cmd != SOCKS5_CMD_BIND || why == DESTPOLICY_UNSPECIFIED)) {
		destpolicy_log(why, &s->client.sa, cmd, name, sa);
		return EACCES;
	}
	/* Fail fast, without an attempt or a Happy Eyeballs delay, where no route leads. */
	return netmon_has_route(s->w->nm, sa) ? 0 : ENETUNREACH;
}

/* Replies from an upstream are passed on as they are: REP, BND.ADDR and BND.PORT. */
static void request_chain_cb(void *arg, const struct chain_result *r)
{
	struct session *s = arg;
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n;

	if (r->final)
		s->chain = NULL;
	if (r->peer)
		memcpy(&s->via, r->peer, addr_sa_len(r->peer));
	if (r->upstream && (!s->upname || strcmp(s->upname, r->upstream))) {
		free(s->upname);
		s->upname = strdup(r->upstream);
	}
	if (!r->bnd) {
		session_fail(s, r->rep, "upstream failed", r->err);
		return;
	}
	n = socks5_build_reply_addr(buf, r->rep, r->bnd);
	if (!r->final) {
		bindreply_first(s, buf, n);
		return;
	}
	if (r->rep != SOCKS5_REP_SUCCEEDED || r->fd < 0) {
		s->rep = r->rep;
		session_finish_with(s, buf, n, "upstream reply", 0);
		return;
	}
	s->ofd = r->fd;
	if (s->cmd == SOCKS5_CMD_RESOLVE || s->cmd == SOCKS5_CMD_RESOLVE_PTR) {
		s->rep = r->rep;
		session_finish_with(s, buf, n, "resolved", 0);
		return;
	}
	session_reply_then_relay(s, buf, n);
}

/* A request a route sends upstream (UDP ASSOCIATE never is); returns true if it took it. */
static bool request_route(struct session *s, struct socks5_request *req)
{
	const struct upstream_route *rt;
	int err;

	if (req->cmd == SOCKS5_CMD_UDP_ASSOCIATE)
		return false;
	rt = upstream_match(s->w->snap->conf.upstreams, &req->dst);
	if (!rt)
		return false;
	err = chain_start(&s->chain, s->w, rt, req->cmd, &req->dst, request_chain_cb, s);
	if (err)
		session_fail(s, socks5_rep_from_errno(err), "upstream failed", -err);
	return true;
}

static void request_dispatch(struct session *s, struct socks5_request *req)
{
	switch (req->cmd) {
	case SOCKS5_CMD_BIND:
		bindreply_start(s, &req->dst);
		break;
	case SOCKS5_CMD_CONNECT:
		connectcmd_start(s, &req->dst);
		break;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		udpctl_start(s, &req->dst);
		break;
	case SOCKS5_CMD_RESOLVE:
		resolvecmd_start(s, &req->dst);
		break;
	case SOCKS5_CMD_RESOLVE_PTR:
		resolvecmd_ptr_start(s, &req->dst);
		break;
	default:
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "command not supported", 0);
		break;
	}
}

/*
 * The destination policy that needs no address yet: a numeric-looking name (0x04 at once, no
 * DNS query) and an unspecified CONNECT address, also when a route would send it upstream.
 * Returns true if it refused the request.
 */
static bool request_refused(struct session *s, const struct socks5_addr *dst)
{
	struct sockaddr_storage ss;
	unsigned cmd = rules_cmd_bit(s->cmd);

	/* UDP ASSOCIATE names the client's own address, BIND 0.0.0.0 any peer (RFC 1928). */
	if (s->cmd == SOCKS5_CMD_UDP_ASSOCIATE)
		return false;
	if (dst->atyp == SOCKS5_ATYP_DOMAINNAME) {
		if (!destpolicy_numeric_name(dst->name))
			return false;
		destpolicy_log(DESTPOLICY_NUMERIC_NAME, &s->client.sa, cmd, dst->name, NULL);
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE, "numeric name", ENOENT);
		return true;
	}
	if (s->cmd != SOCKS5_CMD_CONNECT || socks5_addr_to_sockaddr(dst, &ss, NULL) < 0 ||
	    !destpolicy_unspecified((struct sockaddr *)&ss))
		return false;
	destpolicy_log(DESTPOLICY_UNSPECIFIED, &s->client.sa, cmd, NULL, (struct sockaddr *)&ss);
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, "unspecified address", EACCES);
	return true;
}

/* A complete request: the handshake is over, start what it asks for. */
static void request_start(struct session *s, struct socks5_request *req)
{
	s->cmd = req->cmd;
	socks5_addr_unliteral(&req->dst);
	s->dst = malloc(sizeof(*s->dst));
	if (!s->dst) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "out of memory", ENOMEM);
		return;
	}
	*s->dst = req->dst;
	s->state = SESSION_CONNECTING;
	/* Until the reply is out, the client is not read: early bytes wait in the socket. */
	session_watch(s, 0);
	ev_timer_start(s->w->loop, &s->timer, s->w->snap->conf.connect_timeout_s * 1000u);
	if (request_refused(s, &req->dst))
		return;
	/* Before any DNS query or outbound socket; names may be checked again per address. */
	if (rules_check_request(s->w->snap->conf.rules, &s->client.sa, s->user, req->cmd,
				&req->dst) < 0) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied by rule", EACCES);
		return;
	}
	if (!request_route(s, req))
		request_dispatch(s, req);
}

int request_parse(struct session *s, const uint8_t *buf, size_t len)
{
	struct socks5_request req;
	uint8_t rep;
	int n = socks5_parse_request(buf, len, &req, &rep);

	if (n < 0) {
		session_fail(s, rep, n == -EPROTO ? "malformed request" : socks5_rep_str(rep), 0);
		return n;
	}
	if (n > 0) {
		/* Bytes behind the request are the stream's first bytes: keep them. */
		memmove(s->hs->in, buf + n, len - (size_t)n);
		s->hs->in_len = (uint16_t)(len - (size_t)n);
		request_start(s, &req);
	}
	return n;
}
