/* s46sink.c — the benchmark's server: a one-thread epoll sink, source and UDP echo for s46bench. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "listener.h"
#include "log.h"
#include "netutil.h"
#include "s46bench.h"

#define SINK_BUF (256 * 1024)
/* Reads or writes per callback, so one fast stream cannot starve the others. */
#define SINK_BURST 16
/* Datagrams read and echoed per system call. */
#define SINK_UDP_BATCH 32

enum s46sink_phase {
	SINK_HDR,  /* reading a request header */
	SINK_BODY, /* reading the bytes of a SINK request */
	SINK_ACK,  /* writing the count back */
	SINK_SEND, /* writing the bytes of a SEND request */
};

struct s46sink {
	struct ev_loop *loop;
	uint8_t *buf;
	struct listener listener; /* rests after EMFILE instead of spinning */
	unsigned nudp;		  /* UDP echo sockets */
};

struct s46sink_conn {
	struct s46sink *s;
	int fd;
	enum s46sink_phase phase;
	uint8_t hdr[S46B_HDR_LEN];
	unsigned hdr_len;
	uint64_t left;
	uint8_t ack[8];
	unsigned ack_off;
};

static void s46sink_conn_close(struct s46sink_conn *c)
{
	ev_io_del(c->s->loop, c->fd);
	close(c->fd);
	free(c);
}

static int s46sink_conn_want(struct s46sink_conn *c, unsigned events)
{
	return ev_io_mod(c->s->loop, c->fd, events);
}

/*
 * The body is in: wait for writability rather than go on, since the burst may end here and
 * no more input will come to wake this connection.
 */
static int s46sink_conn_to_ack(struct s46sink_conn *c)
{
	c->phase = SINK_ACK;
	return s46sink_conn_want(c, EV_WRITE) ? -1 : 0;
}

/* Returns 1 to go on, 0 to wait for the next event, -1 when the connection is done. */
static int s46sink_conn_read_hdr(struct s46sink_conn *c)
{
	ssize_t n = recv(c->fd, c->hdr + c->hdr_len, S46B_HDR_LEN - c->hdr_len, 0);
	uint32_t op;
	uint64_t len;

	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->hdr_len += (unsigned)n;
	if (c->hdr_len < S46B_HDR_LEN)
		return 0;
	c->hdr_len = 0;
	if (s46b_hdr_decode(c->hdr, &op, &len)) {
		log_warnx("fd %d: not a benchmark request, closing", c->fd);
		return -1;
	}
	c->left = len;
	if (op == S46B_OP_SEND) {
		c->phase = SINK_SEND;
		return s46sink_conn_want(c, EV_WRITE) ? -1 : 1;
	}
	uint64_t be = htobe64(len);
	memcpy(c->ack, &be, sizeof(be));
	c->ack_off = 0;
	c->phase = SINK_BODY;
	return len ? 1 : s46sink_conn_to_ack(c);
}

static int s46sink_conn_read_body(struct s46sink_conn *c)
{
	size_t want = c->left < SINK_BUF ? (size_t)c->left : SINK_BUF;
	ssize_t n;

	n = recv(c->fd, c->s->buf, want, 0);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->left -= (uint64_t)n;
	return c->left ? 1 : s46sink_conn_to_ack(c);
}

static int s46sink_conn_write_ack(struct s46sink_conn *c)
{
	ssize_t n = send(c->fd, c->ack + c->ack_off, sizeof(c->ack) - c->ack_off, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->ack_off += (unsigned)n;
	if (c->ack_off < sizeof(c->ack))
		return 1;
	c->phase = SINK_HDR;
	return s46sink_conn_want(c, EV_READ) ? -1 : 1;
}

static int s46sink_conn_write_body(struct s46sink_conn *c)
{
	size_t want = c->left < SINK_BUF ? (size_t)c->left : SINK_BUF;
	ssize_t n;

	if (c->left == 0) {
		c->phase = SINK_HDR;
		return s46sink_conn_want(c, EV_READ) ? -1 : 1;
	}
	n = send(c->fd, c->s->buf, want, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->left -= (uint64_t)n;
	return 1;
}

static int s46sink_conn_step(struct s46sink_conn *c)
{
	switch (c->phase) {
	case SINK_HDR:
		return s46sink_conn_read_hdr(c);
	case SINK_BODY:
		return s46sink_conn_read_body(c);
	case SINK_ACK:
		return s46sink_conn_write_ack(c);
	case SINK_SEND:
		return s46sink_conn_write_body(c);
	}
	return -1;
}

static void s46sink_conn_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct s46sink_conn *c = arg;

	for (int i = 0; i < SINK_BURST; i++) {
		int r = s46sink_conn_step(c);

		if (r < 0) {
			s46sink_conn_close(c);
			return;
		}
		if (r == 0)
			return;
	}
}

static void s46sink_accepted(void *arg, int fd, const struct sockaddr *peer)
{
	struct s46sink *s = arg;
	struct s46sink_conn *c = calloc(1, sizeof(*c));

	if (!c || ev_io_add(s->loop, fd, EV_READ, s46sink_conn_cb, c)) {
		free(c);
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->phase = SINK_HDR;
}

static int s46sink_listen(struct s46sink *s, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	err = s46b_resolve(spec, &ss, &len);
	if (err)
		return err;
	fd = netutil_listen((struct sockaddr *)&ss, false, false, 4096);
	return fd < 0 ? fd : listener_add(&s->listener, fd);
}

/* Echoes every datagram to its sender, a batch per system call; what the socket cannot take
 * now is dropped, as a loaded server would. */
static void s46sink_udp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	static uint8_t buf[SINK_UDP_BATCH][S46B_UDP_MAX];
	static struct sockaddr_storage from[SINK_UDP_BATCH];
	struct iovec iov[SINK_UDP_BATCH];
	struct mmsghdr m[SINK_UDP_BATCH];
	int n;

	(void)loop;
	(void)events;
	(void)arg;
	for (int round = 0; round < SINK_BURST; round++) {
		for (int i = 0; i < SINK_UDP_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = sizeof(buf[i])};
			m[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
						       .msg_namelen = sizeof(from[i]),
						       .msg_iov = &iov[i],
						       .msg_iovlen = 1};
		}
		n = recvmmsg(fd, m, SINK_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		sendmmsg(fd, m, (unsigned)n, MSG_DONTWAIT);
		if (n < SINK_UDP_BATCH)
			return;
	}
}

static int s46sink_udp(struct s46sink *s, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, buf = 4 << 20, err = s46b_resolve(spec, &ss, &len);

	if (err)
		return err;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	s->nudp++;
	return ev_io_add(s->loop, fd, EV_READ, s46sink_udp_cb, s);
}

static void s46sink_usage(FILE *f)
{
	fprintf(f, "usage: s46sink [--listen ADDR:PORT]... [--udp ADDR:PORT]...\n"
		   "Benchmark server: each connection sends 16-byte requests (see s46bench.h);\n"
		   "SINK n reads n bytes and answers the count, SEND n writes n bytes.\n"
		   "--udp echoes every datagram to its sender (s46bench udp).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"udp", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct s46sink s = {0};
	int c, err;

	log_init(LOG_LVL_WARN, "s46sink");
	signal(SIGPIPE, SIG_IGN);
	s46b_raise_nofile();
	s.buf = malloc(SINK_BUF);
	if (ev_loop_new(&s.loop) < 0 || !s.buf)
		fatalx("out of memory");
	memset(s.buf, 'x', SINK_BUF);
	listener_init(&s.listener, s.loop, "s46sink", s46sink_accepted, &s);
	while ((c = getopt_long(argc, argv, "l:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			err = s46sink_listen(&s, optarg);
			if (err)
				fatalx("cannot listen on %s: %s", optarg, strerror(-err));
			break;
		case 'u':
			err = s46sink_udp(&s, optarg);
			if (err)
				fatalx("cannot bind UDP %s: %s", optarg, strerror(-err));
			break;
		case 'h':
			s46sink_usage(stdout);
			return 0;
		default:
			s46sink_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (s.listener.nfds == 0 && s.nudp == 0)) {
		s46sink_usage(stderr);
		return 2;
	}
	err = listener_start(&s.listener);
	if (!err)
		err = ev_run(s.loop);
	if (err)
		fatalx("event loop: %s", strerror(-err));
	return 0;
}
