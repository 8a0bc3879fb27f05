/* s5client.c — drives greeting, login and request towards a SOCKS5 server, one reply at a time. */
#include "s5client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum s5client_state {
	S5CLIENT_CHOICE,
	S5CLIENT_AUTH,
	S5CLIENT_REPLY,
	S5CLIENT_REPLY2, /* BIND: the connection from the peer */
};

struct s5client {
	struct ev_loop *loop;
	int fd;
	uint8_t state, cmd;
	uint8_t reg;	/* events fd is registered for */
	bool pipelined; /* login and request went with the greeting */
	uint16_t out_len, out_off, in_len;
	s5client_cb *cb;
	s5client_chosen_cb *chosen;
	void *arg;
	uint8_t out[SOCKS5_GREETING_MAX + SOCKS5_AUTH_MAX + SOCKS5_REQUEST_MAX];
	uint8_t in[SOCKS5_REPLY_MAX];
	uint8_t req[SOCKS5_REQUEST_MAX]; /* sent after the method (and login) is settled */
	uint16_t req_len;
	struct socks5_auth auth;
};

static void s5client_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

size_t s5client_reply_need(const uint8_t *buf, size_t have)
{
	size_t total;

	if (have < 5)
		return 5 - have;
	switch (buf[3]) {
	case SOCKS5_ATYP_IPV4:
		total = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_IPV6:
		total = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_DOMAINNAME:
		total = 4 + 1 + buf[4] + 2;
		break;
	default:
		return 0; /* the parser rejects it */
	}
	return total > have ? total - have : 0;
}

static int s5client_watch(struct s5client *c, unsigned events)
{
	int err = 0;

	if (events == c->reg)
		return 0;
	if (!events)
		ev_io_del(c->loop, c->fd);
	else if (!c->reg)
		err = ev_io_add(c->loop, c->fd, events, s5client_io_cb, c);
	else
		err = ev_io_mod(c->loop, c->fd, events);
	if (!err)
		c->reg = (uint8_t)events;
	return err;
}

void s5client_cancel(struct s5client *c)
{
	if (!c)
		return;
	s5client_watch(c, 0);
	explicit_bzero(&c->auth, sizeof(c->auth));
	explicit_bzero(c->out, sizeof(c->out));
	free(c);
}

/* Ends the handshake: the object is gone before the callback runs. */
static void s5client_end(struct s5client *c, int err, uint8_t rep, const struct socks5_addr *bnd)
{
	s5client_cb *cb = c->cb;
	void *arg = c->arg;

	s5client_cancel(c);
	cb(arg, err, rep, bnd, true);
}

static void s5client_queue(struct s5client *c, const uint8_t *buf, size_t n)
{
	memcpy(c->out + c->out_len, buf, n);
	c->out_len += (uint16_t)n;
}

/* Returns 0 when everything is written, 1 when the socket is full, or -errno. */
static int s5client_flush(struct s5client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 1 : -errno;
		c->out_off += (uint16_t)n;
	}
	c->out_len = c->out_off = 0;
	return 0;
}

/* The next message's length is known only step by step: never read past it. */
static size_t s5client_need(const struct s5client *c)
{
	if (c->state == S5CLIENT_CHOICE || c->state == S5CLIENT_AUTH)
		return c->in_len < 2 ? 2u - c->in_len : 0;
	return s5client_reply_need(c->in, c->in_len);
}

/*
 * What one recv() may take: the current message, and with everything pipelined also the
 * answers certain to follow it (the login's status, the reply's first 7 bytes: the shortest
 * reply), never a stream byte past the reply. One recv() less per connection.
 */
static size_t s5client_want(const struct s5client *c)
{
	size_t need = s5client_need(c), want = 0;

	if (need && c->pipelined && c->state == S5CLIENT_CHOICE)
		want = 2 + (c->auth.user[0] ? 2 : 0) + 7;
	else if (need && c->pipelined && c->state == S5CLIENT_AUTH)
		want = 2 + 7;
	return want > c->in_len + need ? want - c->in_len : need;
}

/* The 2-byte answer at the head of c->in is handled: later bytes move up. */
static void s5client_consume_pair(struct s5client *c)
{
	c->in_len -= 2;
	memmove(c->in, c->in + 2, c->in_len);
}

/* Queues the login (or, without one, the request) the chosen method v calls for: 0, or
 * -EACCES when v is not the method offered, -EPROTO when the login cannot be built. */
static int s5client_choice(struct s5client *c, uint8_t v)
{
	bool login = c->auth.user[0];
	uint8_t buf[SOCKS5_AUTH_MAX];
	int len;

	if (v != (login ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE))
		return -EACCES;
	c->state = login ? S5CLIENT_AUTH : S5CLIENT_REPLY;
	if (c->pipelined)
		return 0;
	if (!login) {
		s5client_queue(c, c->req, c->req_len);
		return 0;
	}
	len = socks5_build_auth(buf, c->auth.user, c->auth.pass);
	explicit_bzero(c->auth.pass, sizeof(c->auth.pass));
	if (len < 0)
		return -EPROTO;
	s5client_queue(c, buf, (size_t)len);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Handles one complete message in c->in; returns 1 to go on, 0 when c is gone. */
static int s5client_message(struct s5client *c)
{
	struct socks5_addr bnd;
	uint8_t v, rep;
	int n;

	switch (c->state) {
	case S5CLIENT_CHOICE:
		if (socks5_parse_choice(c->in, 2, &v) <= 0)
			goto proto;
		n = s5client_choice(c, v);
		if (n < 0) {
			s5client_end(c, -n, 0, NULL);
			return 0;
		}
		if (c->chosen)
			c->chosen(c->arg);
		break;
	case S5CLIENT_AUTH:
		if (socks5_parse_auth_reply(c->in, 2, &v) <= 0)
			goto proto;
		if (v != SOCKS5_AUTH_SUCCESS) {
			s5client_end(c, EACCES, 0, NULL);
			return 0;
		}
		if (!c->pipelined)
			s5client_queue(c, c->req, c->req_len);
		c->state = S5CLIENT_REPLY;
		break;
	default:
		n = socks5_parse_reply(c->in, c->in_len, &rep, &bnd);
		if (n <= 0)
			goto proto;
		if (rep == SOCKS5_REP_SUCCEEDED && c->cmd == SOCKS5_CMD_BIND &&
		    c->state == S5CLIENT_REPLY) {
			c->state = S5CLIENT_REPLY2;
			c->in_len = 0;
			c->cb(c->arg, 0, rep, &bnd, false);
			return 0; /* the callback may have cancelled c */
		}
		s5client_end(c, 0, rep, &bnd);
		return 0;
	}
	s5client_consume_pair(c);
	return 1;
proto:
	s5client_end(c, EPROTO, 0, NULL);
	return 0;
}

static void s5client_step(struct s5client *c)
{
	int ret = s5client_flush(c);

	while (ret == 0) {
		size_t need = s5client_need(c);
		ssize_t n;

		if (need == 0) {
			if (!s5client_message(c))
				return;
			ret = s5client_flush(c);
			continue;
		}
		n = recv(c->fd, c->in + c->in_len, s5client_want(c), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			s5client_end(c, n == 0 ? ECONNRESET : errno, 0, NULL);
			return;
		}
		c->in_len += (uint16_t)n;
	}
	if (ret < 0) {
		s5client_end(c, -ret, 0, NULL);
		return;
	}
	if (s5client_watch(c, ret ? EV_WRITE : EV_READ) < 0)
		s5client_end(c, ENOMEM, 0, NULL);
}

static void s5client_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	s5client_step(arg);
}

int s5client_pipeline(struct s5client *c)
{
	int n;

	if (c->auth.user[0]) {
		n = socks5_build_auth(c->out + c->out_len, c->auth.user, c->auth.pass);
		explicit_bzero(c->auth.pass, sizeof(c->auth.pass));
		if (n < 0)
			return n;
		c->out_len += (uint16_t)n;
	}
	s5client_queue(c, c->req, c->req_len);
	c->pipelined = true;
	/* Everything is queued: write it now if the socket takes it (a connect that completed
	 * at once, or one deferred by TCP Fast Open) instead of after a trip through the
	 * loop. An error is left for the loop to report: the callback never runs in here. */
	if (s5client_flush(c) == 0)
		return s5client_watch(c, EV_READ);
	return 0;
}

void s5client_on_chosen(struct s5client *c, s5client_chosen_cb *fn)
{
	c->chosen = fn;
}

int s5client_start(struct s5client **out, struct ev_loop *loop, int fd, const char *user,
		   const char *pass, uint8_t cmd, const struct socks5_addr *dst, s5client_cb *cb,
		   void *arg)
{
	struct s5client *c = calloc(1, sizeof(*c));
	uint8_t method = user ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	int n, err = -EINVAL;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	if (user && (strlen(user) > 255 || !pass || strlen(pass) > 255))
		goto fail;
	n = socks5_build_request(c->req, cmd, dst);
	if (n < 0)
		goto fail;
	c->req_len = (uint16_t)n;
	if (user) {
		strcpy(c->auth.user, user);
		strcpy(c->auth.pass, pass);
	}
	c->loop = loop;
	c->fd = fd;
	c->cmd = cmd;
	c->cb = cb;
	c->arg = arg;
	c->out_len = (uint16_t)socks5_build_greeting(c->out, &method, 1);
	/* Written once the socket says it is writable: the callback never runs inside start. */
	err = s5client_watch(c, EV_WRITE);
	if (err == 0) {
		*out = c;
		return 0;
	}
fail:
	s5client_cancel(c);
	return err;
}
