/* session.c — one client connection: handshake parsing, connect, reply, relay, one log line. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "bindcmd.h"
#include "chain.h"
#include "gateway.h"
#include "log.h"
#include "netmon.h"
#include "netutil.h"
#include "rules.h"
#include "socks5.h"
#include "udp.h"
#include "upstream.h"

/* Bytes a client may pipeline with its handshake before the reply: kept and relayed first. */
#define SESSION_INBUF 1024
/* How long a failure reply waits for the client to close before the socket is dropped. */
#define SESSION_LINGER_MS 2000

enum session_state {
	SESSION_GREETING,
	SESSION_AUTH,
	SESSION_AUTH_WAIT, /* the pool is hashing the password; the client is not read */
	SESSION_REQUEST,
	SESSION_CONNECTING, /* happy eyeballs (or a RESOLVE lookup) under way */
	SESSION_REPLYING,   /* success reply partly written */
	SESSION_BINDING,    /* BIND: first reply sent, waiting for the peer to connect in */
	SESSION_RELAY,
	SESSION_LINGER, /* final reply queued; then half-close and wait for the client's EOF */
	SESSION_UDP,	/* UDP ASSOCIATE: the control connection is only watched for its end */
};

/* Only while the handshake runs: freed when the relay starts. */
struct session_hs {
	uint16_t in_len, out_len, out_off;
	uint8_t out[SOCKS5_REPLY_MAX + 8];
	uint8_t in[SESSION_INBUF];
};

struct session {
	struct session *prev, *next;
	struct worker *w;
	int cfd, ofd;
	uint8_t state;
	uint8_t creg; /* events cfd is registered for, 0 = not registered */
	uint8_t cmd;
	int16_t rep;	 /* reply code sent, -1 = none */
	int err;	 /* errno behind the result, 0 = none */
	const char *why; /* result for the log line */
	uint64_t start_ms;
	union happy_sa client, via;
	char *user, *dest;
	struct session_hs *hs;
	struct happy *happy;
	struct resolv_query *query;
	struct udp_assoc *udp;
	struct chain *chain;  /* request sent on through an upstream */
	struct bindcmd *bind; /* BIND waiting for its peer */
	char *upname;	      /* the upstream used, for the log line */
	struct auth_job *job; /* in the auth pool; the worker frees it */
	struct ev_timer timer;
	struct relay relay;
};

static void session_client_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* Client-controlled text goes into the log with control characters and spaces escaped. */
static const char *session_clean(const char *s, char *buf, size_t len)
{
	size_t j = 0;

	if (!s)
		return "-";
	for (; *s && j + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || c == '\\')
			j += (size_t)snprintf(buf + j, len - j, "\\x%02x", c);
		else
			buf[j++] = (char)c;
	}
	buf[j] = '\0';
	return buf;
}

static void session_log(struct session *s)
{
	char client[ADDR_STRLEN], via[ADDR_STRLEN + 80], user[1100], dest[1100], result[160];
	uint64_t up = 0, down = 0;

	if (s->state == SESSION_RELAY || s->relay.loop) {
		up = relay_bytes_ab(&s->relay);
		down = relay_bytes_ba(&s->relay);
	}
	if (s->via.sa.sa_family)
		addr_format(&s->via.sa, via, sizeof(via));
	if (s->upname)
		snprintf(via, sizeof(via), "upstream:%.64s(%s)", s->upname,
			 s->via.sa.sa_family ? addr_format(&s->via.sa, client, sizeof(client)) : "-");
	else if (!s->via.sa.sa_family)
		snprintf(via, sizeof(via), "-");
	addr_format(&s->client.sa, client, sizeof(client));
	snprintf(result, sizeof(result), "%s%s%s", s->why ? s->why : "closed", s->err ? ": " : "",
		 s->err ? strerror(s->err) : "");
	if (s->rep > 0)
		snprintf(result + strlen(result), sizeof(result) - strlen(result), " (rep 0x%02x)",
			 s->rep);
	log_info("conn client=%s user=%s dest=%s via=%s up=%llu down=%llu ms=%llu result=\"%s\"",
		 client, session_clean(s->user, user, sizeof(user)),
		 session_clean(s->dest, dest, sizeof(dest)), via, (unsigned long long)up,
		 (unsigned long long)down, (unsigned long long)(ev_now(s->w->loop) - s->start_ms),
		 result);
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
		s->job->owner = NULL;
	ev_timer_stop(w->loop, &s->timer);
	if (s->ofd >= 0)
		close(s->ofd);
	close(s->cfd);
	if (s->prev)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->hs);
	free(s->user);
	free(s->dest);
	free(s->upname);
	free(s);
	atomic_fetch_sub(&w->gw->nconns, 1);
	worker_session_gone(w);
}

static void session_end(struct session *s, const char *why, int err)
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

static int session_watch(struct session *s, unsigned events)
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

/* Writes queued bytes; returns 0 when all are out, 1 if some wait for EV_WRITE, or -errno. */
static int session_flush(struct session *s)
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

static void session_queue(struct session *s, const uint8_t *buf, size_t n)
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

/* Sends a final message (a failure reply, 0xFF, an auth failure) and closes after it. */
static void session_finish_with(struct session *s, const uint8_t *buf, size_t n, const char *why,
				int err)
{
	s->why = why;
	s->err = err;
	s->state = SESSION_LINGER;
	/* Appended: a choice or auth reply still queued goes out first. */
	session_queue(s, buf, n);
	ev_timer_start(s->w->loop, &s->timer, SESSION_LINGER_MS);
	session_linger_step(s);
}

static void session_fail(struct session *s, uint8_t rep, const char *why, int err)
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
	session_end(s, relay_result_str(res), err);
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
}

/* s->ofd is connected: send the success reply in buf, then relay. */
static void session_reply_then_relay(struct session *s, const uint8_t *buf, size_t n)
{
	int ret;

	s->rep = SOCKS5_REP_SUCCEEDED;
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

static void session_connected(void *arg, int fd, int err, const struct sockaddr *peer)
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
	if (getsockname(fd, (struct sockaddr *)&bnd, &blen) < 0) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "getsockname", errno);
		return;
	}
	session_reply_then_relay(
	    s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&bnd));
}

/* BIND's first reply: sent while the peer is awaited (bounded by bind-timeout). */
static void session_bind_first(struct session *s, const uint8_t *buf, size_t n)
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
static void session_binding_io(struct session *s, unsigned events)
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

static void session_bind_cb(void *arg, int fd, int err, const struct sockaddr *addr, bool final)
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
		session_bind_first(s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, addr));
		return;
	}
	s->ofd = fd;
	memcpy(&s->via, addr, addr_sa_len(addr));
	session_reply_then_relay(s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, addr));
}

/* Replies from an upstream are passed on as they are: REP, BND.ADDR and BND.PORT. */
static void session_chain_cb(void *arg, const struct chain_result *r)
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
		session_bind_first(s, buf, n);
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

/* happy_opts.filter: access rules (and routes) for each address a name resolved to. */
static int session_filter(void *arg, const struct sockaddr *sa)
{
	struct session *s = arg;
	char name[300], *colon;

	/* s->dest is "name:port" as the request gave it; the port is after the last colon. */
	snprintf(name, sizeof(name), "%s", s->dest ? s->dest : "");
	colon = strrchr(name, ':');
	if (colon)
		*colon = '\0';
	/* An address request (or a literal sent as a name) has no name for the name rules. */
	if (name[0] == '[' || rules_is_ip(name))
		colon = NULL;
	if (rules_check_addr(s->w->snap->conf.rules, &s->client.sa, s->user, rules_cmd_bit(s->cmd),
			     colon && *name ? name : NULL, sa) < 0)
		return EACCES;
	/* Fail fast, without an attempt or a Happy Eyeballs delay, where no route leads. */
	return netmon_has_route(netmon_global(), sa) ? 0 : ENETUNREACH;
}

static void session_resolved(void *arg, int family, int err, const struct sockaddr_storage *addrs,
			     size_t n, int remaining)
{
	struct session *s = arg;
	uint8_t buf[SOCKS5_REPLY_MAX];

	if (n && (!s->via.sa.sa_family || family == s->w->happy.prefer))
		memcpy(&s->via, &addrs[0], addr_sa_len((const struct sockaddr *)&addrs[0]));
	if (err && (!s->err || err == ENOENT))
		s->err = err;
	if (remaining)
		return;
	s->query = NULL;
	if (!s->via.sa.sa_family) {
		session_fail(s, socks5_rep_from_errno(s->err ? s->err : ENOENT), "resolve failed",
			     s->err);
		return;
	}
	if (session_filter(s, &s->via.sa) == EACCES) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied by rule", EACCES);
		return;
	}
	s->rep = SOCKS5_REP_SUCCEEDED;
	session_finish_with(s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, &s->via.sa),
			    "resolved", 0);
	s->err = 0;
}

/* RESOLVE (Tor 0xF0): the name's address in BND.ADDR, preferred family first. */
static void session_resolve(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage ss;
	uint8_t buf[SOCKS5_REPLY_MAX];

	if (dst->atyp != SOCKS5_ATYP_DOMAINNAME) {
		socks5_addr_to_sockaddr(dst, &ss, NULL);
		addr_set_port((struct sockaddr *)&ss, 0);
		s->rep = SOCKS5_REP_SUCCEEDED;
		session_finish_with(s, buf, socks5_build_reply(buf, 0, (struct sockaddr *)&ss),
				    "resolved", 0);
		return;
	}
	s->query = resolv_lookup(s->w->res, dst->name, session_resolved, s);
	if (!s->query)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "resolve", ENOMEM);
}

static void session_ptr_resolved(void *arg, int err, const char *name)
{
	struct session *s = arg;
	uint8_t buf[SOCKS5_REPLY_MAX];
	struct socks5_addr a = {0};

	s->query = NULL;
	if (err || socks5_addr_set_name(&a, name, 0) < 0) {
		session_fail(s, socks5_rep_from_errno(err ? err : ENOENT), "reverse lookup failed",
			     err);
		return;
	}
	s->rep = SOCKS5_REP_SUCCEEDED;
	session_finish_with(s, buf, socks5_build_reply_addr(buf, SOCKS5_REP_SUCCEEDED, &a),
			    "resolved", 0);
}

/* RESOLVE_PTR (Tor 0xF1): the address's name in BND.ADDR as a DOMAINNAME. */
static void session_resolve_ptr(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage ss;

	if (socks5_addr_to_sockaddr(dst, &ss, NULL) < 0) {
		session_fail(s, SOCKS5_REP_ATYP_NOT_SUPPORTED, "RESOLVE_PTR needs an address", 0);
		return;
	}
	s->query = resolv_reverse(s->w->res, (struct sockaddr *)&ss, session_ptr_resolved, s);
	if (!s->query)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "reverse lookup", ENOMEM);
}

static void session_connect(struct session *s, struct socks5_addr *dst)
{
	struct happy_opts o = s->w->happy;
	struct sockaddr_storage ss;
	int err;

	o.filter = session_filter;
	o.filter_arg = s;
	/* No resolution delay for a preferred family the host cannot use right now. */
	if (!netmon_family_usable(netmon_global(), o.prefer) &&
	    netmon_family_usable(netmon_global(), o.prefer == AF_INET6 ? AF_INET : AF_INET6))
		o.prefer = o.prefer == AF_INET6 ? AF_INET : AF_INET6;
	if (dst->atyp == SOCKS5_ATYP_DOMAINNAME) {
		s->happy = happy_start(s->w->loop, s->w->res, &o, dst->name, NULL, dst->port,
				       session_connected, s, &err);
	} else {
		socks5_addr_to_sockaddr(dst, &ss, NULL);
		s->happy = happy_start(s->w->loop, s->w->res, &o, NULL, (struct sockaddr *)&ss,
				       dst->port, session_connected, s, &err);
	}
	if (!s->happy)
		session_fail(s, socks5_rep_from_errno(err), "connect", -err);
}

/* UDP ASSOCIATE: the association lives as long as this control connection. */
static void session_udp(struct session *s, struct socks5_addr *dst)
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
	s->udp = udp_assoc_new(s->w, s->cfd, (struct sockaddr *)&local, &s->client.sa, dst, s->user,
			       &bnd, &err);
	if (!s->udp) {
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

/* The control connection of an association carries nothing; its end ends the association. */
static void session_udp_control(struct session *s, unsigned events)
{
	uint8_t buf[512];
	ssize_t n;
	int ret;

	if (events & EV_WRITE) {
		ret = session_flush(s);
		if (ret < 0) {
			session_end(s, "client write", -ret);
			return;
		}
		if (ret == 0 && session_watch(s, EV_READ) < 0)
			return;
	}
	if (!(events & EV_READ))
		return;
	n = recv(s->cfd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		session_end(s, NULL, 0);
}

/* BIND without an upstream: listen here for the peer. */
static void session_bind(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct bindcmd_opts o = {
	    .prefer = s->w->happy.prefer, .filter = session_filter, .filter_arg = s};
	int err;

	if (getsockname(s->cfd, (struct sockaddr *)&local, &len) == 0)
		o.ctl_local = (struct sockaddr *)&local;
	s->bind = bindcmd_start(s->w->loop, s->w->res, &o, dst, session_bind_cb, s, &err);
	if (!s->bind)
		session_fail(s, socks5_rep_from_errno(err), "bind", -err);
}

/* A request a route sends upstream (UDP ASSOCIATE never is); returns true if it took it. */
static bool session_route(struct session *s, struct socks5_request *req)
{
	const struct upstream_route *rt;
	int err;

	if (req->cmd == SOCKS5_CMD_UDP_ASSOCIATE)
		return false;
	rt = upstream_match(s->w->snap->conf.upstreams, &req->dst);
	if (!rt)
		return false;
	s->chain = chain_start(s->w, rt, req->cmd, &req->dst, session_chain_cb, s, &err);
	if (!s->chain)
		session_fail(s, socks5_rep_from_errno(err), "upstream failed", -err);
	return true;
}

/* A complete request: the handshake is over, start what it asks for. */
static void session_request(struct session *s, struct socks5_request *req)
{
	char dest[300];

	s->cmd = req->cmd;
	s->dest = strdup(socks5_addr_format(&req->dst, dest, sizeof(dest)));
	socks5_addr_unliteral(&req->dst);
	s->state = SESSION_CONNECTING;
	/* Until the reply is out, the client is not read: what it sends early waits in the socket.
	 */
	session_watch(s, 0);
	ev_timer_start(s->w->loop, &s->timer, s->w->snap->conf.connect_timeout_s * 1000u);
	/* Before any DNS query or outbound socket; names may be checked again per address. */
	if (rules_check_request(s->w->snap->conf.rules, &s->client.sa, s->user, req->cmd,
				&req->dst) < 0) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied by rule", EACCES);
		return;
	}
	if (session_route(s, req))
		return;
	switch (req->cmd) {
	case SOCKS5_CMD_BIND:
		session_bind(s, &req->dst);
		break;
	case SOCKS5_CMD_CONNECT:
		if (req->dst.port == 0)
			session_fail(s, SOCKS5_REP_HOST_UNREACHABLE, "port 0", 0);
		else
			session_connect(s, &req->dst);
		break;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		session_udp(s, &req->dst);
		break;
	case SOCKS5_CMD_RESOLVE:
		session_resolve(s, &req->dst);
		break;
	case SOCKS5_CMD_RESOLVE_PTR:
		session_resolve_ptr(s, &req->dst);
		break;
	default:
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "command not supported", 0);
		break;
	}
}

static uint8_t session_choose(struct session *s, const struct socks5_greeting *g)
{
	uint8_t want = s->w->snap->auth ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;

	for (unsigned i = 0; i < g->nmethods; i++)
		if (g->methods[i] == want)
			return want;
	return SOCKS5_METHOD_NO_ACCEPTABLE;
}

static int session_on_greeting(struct session *s, const uint8_t *buf, size_t len)
{
	struct socks5_greeting g;
	uint8_t out[2], m;
	int n = socks5_parse_greeting(buf, len, &g);

	if (n <= 0)
		return n;
	m = session_choose(s, &g);
	socks5_build_choice(out, m);
	if (m == SOCKS5_METHOD_NO_ACCEPTABLE) {
		session_finish_with(s, out, 2, "no acceptable method", 0);
		return n;
	}
	session_queue(s, out, 2);
	s->state = m == SOCKS5_METHOD_USERPASS ? SESSION_AUTH : SESSION_REQUEST;
	return n;
}

/* The password check runs in the auth pool; session_auth_result continues. */
static int session_on_auth(struct session *s, const uint8_t *buf, size_t len)
{
	struct auth_job *j = calloc(1, sizeof(*j));
	struct socks5_auth a;
	int n;

	if (!j)
		return -ENOMEM;
	n = socks5_parse_auth(buf, len, &a);
	if (n > 0) {
		s->user = strdup(a.user);
		memcpy(j->user, a.user, sizeof(j->user));
		memcpy(j->pass, a.pass, sizeof(j->pass));
		j->w = s->w;
		j->snap = gw_snap_ref(s->w->snap);
		j->owner = s;
		s->job = j;
		s->state = SESSION_AUTH_WAIT;
		authpool_submit(s->w->gw->authpool, j);
	} else {
		free(j);
	}
	explicit_bzero(&a, sizeof(a));
	return n;
}

static void session_advance(struct session *s);

void session_auth_result(void *owner, bool ok)
{
	struct session *s = owner;
	uint8_t out[2];

	s->job = NULL;
	socks5_build_auth_reply(out, ok ? SOCKS5_AUTH_SUCCESS : SOCKS5_AUTH_FAILURE);
	if (!ok) {
		session_finish_with(s, out, 2, "authentication failed", 0);
		return;
	}
	session_queue(s, out, 2);
	s->state = SESSION_REQUEST;
	/* A request pipelined behind the credentials is already in the buffer. */
	session_advance(s);
}

static int session_on_request(struct session *s, const uint8_t *buf, size_t len)
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
		session_request(s, &req);
	}
	return n;
}

/* Parses every complete message in the buffer; stops when the handshake is over. */
static void session_advance(struct session *s)
{
	struct session_hs *hs = s->hs;
	int n;

	for (;;) {
		uint8_t state = s->state;

		if (state == SESSION_GREETING)
			n = session_on_greeting(s, hs->in, hs->in_len);
		else if (state == SESSION_AUTH)
			n = session_on_auth(s, hs->in, hs->in_len);
		else
			n = session_on_request(s, hs->in, hs->in_len);
		if (n == 0)
			break;
		if (n < 0 && state == SESSION_AUTH) {
			uint8_t out[2];

			socks5_build_auth_reply(out, SOCKS5_AUTH_FAILURE);
			session_finish_with(s, out, 2, "malformed authentication", 0);
			return;
		}
		if (n < 0 && state == SESSION_GREETING) {
			session_end(s, "malformed greeting", 0);
			return;
		}
		/* A request was handled (connecting or failed), or a final reply is lingering. */
		if (state == SESSION_REQUEST || s->state == SESSION_LINGER)
			return;
		if (s->state == SESSION_AUTH_WAIT) {
			hs->in_len -= (uint16_t)n;
			memmove(hs->in, hs->in + n, hs->in_len);
			break;
		}
		hs->in_len -= (uint16_t)n;
		memmove(hs->in, hs->in + n, hs->in_len);
	}
	if (hs->in_len == sizeof(hs->in)) {
		session_end(s, "handshake too long", 0);
		return;
	}
	n = session_flush(s);
	if (n < 0)
		session_end(s, "client write", -n);
	else if (s->state == SESSION_AUTH_WAIT)
		session_watch(s, n ? EV_WRITE : 0);
	else
		session_watch(s, EV_READ | (n ? EV_WRITE : 0));
}

static void session_read(struct session *s)
{
	struct session_hs *hs = s->hs;
	ssize_t n = recv(s->cfd, hs->in + hs->in_len, sizeof(hs->in) - hs->in_len, 0);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			session_end(s, "client read", errno);
		return;
	}
	if (n == 0) {
		session_end(s, "client closed during handshake", 0);
		return;
	}
	hs->in_len += (uint16_t)n;
	session_advance(s);
}

static void session_linger_read(struct session *s)
{
	uint8_t buf[512];
	ssize_t n = recv(s->cfd, buf, sizeof(buf), 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		session_end(s, NULL, 0);
}

static void session_client_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct session *s = arg;
	int ret;

	switch (s->state) {
	case SESSION_GREETING:
	case SESSION_AUTH:
	case SESSION_REQUEST:
		if (events & EV_WRITE) {
			ret = session_flush(s);
			if (ret < 0) {
				session_end(s, "client write", -ret);
				return;
			}
			if (ret == 0 && session_watch(s, EV_READ) < 0)
				return;
		}
		if (events & EV_READ)
			session_read(s);
		break;
	case SESSION_AUTH_WAIT:
		ret = session_flush(s);
		if (ret < 0)
			session_end(s, "client write", -ret);
		else if (ret == 0)
			session_watch(s, 0);
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
			session_linger_read(s);
		break;
	case SESSION_UDP:
		session_udp_control(s, events);
		break;
	case SESSION_BINDING:
		session_binding_io(s, events);
		break;
	default:
		break;
	}
}

static void session_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct session *s = container_of(t, struct session, timer);

	switch (s->state) {
	case SESSION_CONNECTING:
		happy_cancel(s->happy);
		s->happy = NULL;
		resolv_cancel(s->query);
		s->query = NULL;
		chain_cancel(s->chain, true);
		s->chain = NULL;
		bindcmd_cancel(s->bind);
		s->bind = NULL;
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "connect timeout", ETIMEDOUT);
		break;
	case SESSION_BINDING:
		/* Waiting for the peer is not the upstream's fault. */
		chain_cancel(s->chain, false);
		s->chain = NULL;
		bindcmd_cancel(s->bind);
		s->bind = NULL;
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

int session_new(struct worker *w, int fd, const struct sockaddr *peer)
{
	struct session *s = calloc(1, sizeof(*s));
	int err;

	if (!s || !(s->hs = calloc(1, sizeof(*s->hs)))) {
		free(s);
		close(fd);
		return -ENOMEM;
	}
	s->w = w;
	s->cfd = fd;
	s->ofd = -1;
	s->rep = -1;
	s->start_ms = ev_now(w->loop);
	memcpy(&s->client, peer, addr_sa_len(peer));
	ev_timer_init(&s->timer, session_timer_cb);
	s->next = w->sessions;
	if (s->next)
		s->next->prev = s;
	w->sessions = s;
	w->nsessions++;
	atomic_fetch_add(&w->gw->nconns, 1);
	err = session_watch(s, EV_READ);
	if (!err)
		err = ev_timer_start(w->loop, &s->timer, w->snap->conf.handshake_timeout_s * 1000u);
	if (err)
		session_end(s, "setup", -err);
	return err;
}
