/* handshake.c — method choice and RFC 1929 authentication, read until a request is complete. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authpool.h"
#include "session.h"

/* A message handled by ending the session (it may be freed already): touch nothing more. */
#define HANDSHAKE_ENDED INT_MIN

static uint8_t handshake_choose(struct session *s, const struct socks5_greeting *g)
{
	uint8_t want = s->w->snap->auth ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;

	for (unsigned i = 0; i < g->nmethods; i++)
		if (g->methods[i] == want)
			return want;
	return SOCKS5_METHOD_NO_ACCEPTABLE;
}

static int handshake_greeting(struct session *s, const uint8_t *buf, size_t len)
{
	struct socks5_greeting g;
	uint8_t out[2], m;
	int n = socks5_parse_greeting(buf, len, &g);

	if (n <= 0)
		return n;
	m = handshake_choose(s, &g);
	socks5_build_choice(out, m);
	if (m == SOCKS5_METHOD_NO_ACCEPTABLE) {
		session_finish_with(s, out, 2, "no acceptable method", 0);
		return HANDSHAKE_ENDED;
	}
	session_queue(s, out, 2);
	s->state = m == SOCKS5_METHOD_USERPASS ? SESSION_AUTH : SESSION_REQUEST;
	return n;
}

/* An RFC 1929 failure, then close: a wrong password, or a login shed unchecked. */
static void handshake_auth_fail(struct session *s, const char *why)
{
	uint8_t out[2];

	socks5_build_auth_reply(out, SOCKS5_AUTH_FAILURE);
	session_finish_with(s, out, 2, why, 0);
}

/*
 * The password check runs in the auth pool; handshake_auth_result continues. A login the
 * pool sheds (too many queued from this address) fails at once.
 */
static int handshake_auth(struct session *s, const uint8_t *buf, size_t len)
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
		if (authpool_submit(s->w->gw->authpool, j, &s->client.sa) < 0) {
			authpool_job_free(j);
			handshake_auth_fail(s, "login shed: authentication queue full");
			n = HANDSHAKE_ENDED;
		} else {
			s->job = j;
			s->state = SESSION_AUTH_WAIT;
		}
	} else {
		free(j);
	}
	explicit_bzero(&a, sizeof(a));
	return n;
}

/* A malformed message ends the handshake: true when it was one (the session is then closing). */
static bool handshake_malformed(struct session *s, uint8_t state, int n)
{
	if (n >= 0 || state == SESSION_REQUEST)
		return false;
	if (state == SESSION_GREETING) {
		session_end(s, "malformed greeting", 0);
		return true;
	}
	handshake_auth_fail(s, "malformed authentication");
	return true;
}

/*
 * While the pool checks the password the client is still read, so that one who hangs up
 * ends the session and takes its check out of the queue; what it pipelines is kept for
 * later. A full buffer is no longer watched.
 */
static unsigned handshake_wait_events(const struct session *s, int pending_write)
{
	return (s->hs->in_len < sizeof(s->hs->in) ? EV_READ : 0) | (pending_write ? EV_WRITE : 0);
}

/* Parses every complete message in the buffer; stops when the handshake is over. */
static void handshake_advance(struct session *s)
{
	struct session_hs *hs = s->hs;
	int n;

	for (;;) {
		uint8_t state = s->state;

		if (state == SESSION_GREETING)
			n = handshake_greeting(s, hs->in, hs->in_len);
		else if (state == SESSION_AUTH)
			n = handshake_auth(s, hs->in, hs->in_len);
		else
			n = request_parse(s, hs->in, hs->in_len);
		if (n == 0)
			break;
		if (n == HANDSHAKE_ENDED || handshake_malformed(s, state, n))
			return;
		/* A request was handled (connecting or failed), or a final reply is lingering. */
		if (state == SESSION_REQUEST || s->state == SESSION_LINGER)
			return;
		hs->in_len -= (uint16_t)n;
		memmove(hs->in, hs->in + n, hs->in_len);
		if (s->state == SESSION_AUTH_WAIT)
			break;
	}
	if (hs->in_len == sizeof(hs->in)) {
		session_end(s, "handshake too long", 0);
		return;
	}
	n = session_flush(s);
	if (n < 0)
		session_end(s, "client write", -n);
	else if (s->state == SESSION_AUTH_WAIT)
		session_watch(s, handshake_wait_events(s, n));
	else
		session_watch(s, EV_READ | (n ? EV_WRITE : 0));
}

void handshake_auth_result(void *owner, bool ok)
{
	struct session *s = owner;
	bool shed = s->job->shed;
	uint8_t out[2];

	s->job = NULL;
	if (!ok) {
		handshake_auth_fail(s, shed ? "login shed: authentication queue full"
					    : "authentication failed");
		return;
	}
	socks5_build_auth_reply(out, SOCKS5_AUTH_SUCCESS);
	session_queue(s, out, 2);
	s->state = SESSION_REQUEST;
	/* A request pipelined behind the credentials is already in the buffer. */
	handshake_advance(s);
}

/* Reads into the handshake buffer; false when the session ended (EOF or an error). */
static bool handshake_recv(struct session *s)
{
	struct session_hs *hs = s->hs;
	ssize_t n = recv(s->cfd, hs->in + hs->in_len, sizeof(hs->in) - hs->in_len, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;
		session_end(s, "client read", errno);
		return false;
	}
	if (n == 0) {
		session_end(s,
			    s->state == SESSION_AUTH_WAIT ? "client closed during authentication"
							  : "client closed during handshake",
			    0);
		return false;
	}
	hs->in_len += (uint16_t)n;
	return true;
}

/* Waiting for the pool: flush the choice, keep what the client pipelines, notice it leave. */
static void handshake_wait_io(struct session *s, unsigned events)
{
	int ret = 0;

	if (events & EV_WRITE) {
		ret = session_flush(s);
		if (ret < 0) {
			session_end(s, "client write", -ret);
			return;
		}
	}
	if ((events & EV_READ) && !handshake_recv(s))
		return;
	if (!(events & EV_WRITE))
		ret = s->creg & EV_WRITE ? 1 : 0;
	session_watch(s, handshake_wait_events(s, ret));
}

void handshake_io(struct session *s, unsigned events)
{
	if (s->state == SESSION_AUTH_WAIT) {
		handshake_wait_io(s, events);
		return;
	}
	if ((events & EV_WRITE) && session_write_ready(s) < 0)
		return;
	if ((events & EV_READ) && handshake_recv(s))
		handshake_advance(s);
}
