/* s46bench.c — the benchmark's load generator: one epoll thread, direct or through SOCKS5 CONNECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "ev.h"
#include "log.h"
#include "s46bench.h"

#define BENCH_BUF (256 * 1024)

enum s46bench_mode {
	BENCH_STREAM, /* push SINK chunks for a duration, count acknowledged bytes */
	BENCH_RATE,   /* open, request, read response, close — with fixed concurrency */
	BENCH_IDLE,   /* hold N relayed connections open, then check they all still relay */
	BENCH_UDP,    /* datagrams to an s46sink UDP echo: datagrams/s each way and loss */
};

enum s46bench_conn_state {
	BC_CONNECTING,
	BC_METHOD, /* SOCKS5 greeting sent, waiting for the method choice */
	BC_REPLY,  /* SOCKS5 CONNECT sent, waiting for the reply */
	BC_RUN,	   /* tunnel up: the mode's requests */
	BC_IDLE,   /* established and quiet */
};

struct s46bench {
	struct ev_loop *loop;
	enum s46bench_mode mode;
	struct sockaddr_storage hop; /* where connect() goes: the proxy, or the server */
	socklen_t hop_len;
	struct sockaddr_storage src; /* --source: the local address, ss_family 0 when not set */
	bool socks;
	uint8_t req[300]; /* the prebuilt SOCKS5 CONNECT request */
	size_t req_len;
	unsigned conc;
	uint64_t duration_ms, timeout_ms, hold_ms, verify_ms;
	uint64_t chunk, size;
	unsigned target_n;
	const char *ready_file;
	uint8_t *buf;
	uint64_t window, rate; /* BENCH_UDP: datagrams in flight per socket; or datagrams/s */

	bool stopping, verifying;
	unsigned live, inflight, opened;
	uint64_t t0, t_end; /* ns */
	uint64_t done, errors, bytes;
	uint32_t *lat; /* microseconds, connect() to first response byte */
	size_t nlat, caplat;
	char first_err[160];
	struct ev_timer deadline, hard, refill;
	struct s46bench_conn **idle; /* BENCH_IDLE: established connections, NULL once dropped */
	unsigned nidle, dropped, verified, vfailed, vpending;
	unsigned vnext, vinflight; /* the check: next idle[] to ask, asked and not answered */
	bool vstarting;		   /* s46bench_verify_more is on the stack */
	int sigfd;
	struct s46bench_conn *head; /* every live connection, for the timeout report */
};

struct s46bench_conn {
	struct s46bench *b;
	int fd;
	enum s46bench_conn_state st;
	uint8_t rbuf[320];
	unsigned rlen;
	uint64_t t_start;
	uint8_t hdr[S46B_HDR_LEN];
	unsigned hdr_off;  /* S46B_HDR_LEN when the header is out */
	uint64_t out_left; /* payload bytes after the header */
	uint64_t in_left;  /* response bytes still expected */
	unsigned acks;	   /* SINK chunks written and not yet acknowledged */
	bool writing, got_first;
	unsigned idx;
	struct s46bench_conn *prev, *next;
};

static uint64_t s46bench_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void s46bench_pump(struct s46bench *b);
static void s46bench_conn_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);
static void s46bench_verify_more(struct s46bench *b);

static void s46bench_note_error(struct s46bench *b, const char *what, int err)
{
	b->errors++;
	if (!b->first_err[0])
		snprintf(b->first_err, sizeof(b->first_err), "%s%s%s", what, err ? ": " : "",
			 err ? strerror(err) : "");
}

static void s46bench_conn_free(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;

	if (c->st == BC_IDLE || (b->mode == BENCH_IDLE && c->st == BC_RUN && b->verifying))
		b->idle[c->idx] = NULL;
	ev_io_del(b->loop, c->fd);
	close(c->fd);
	b->live--;
	if (c->prev)
		c->prev->next = c->next;
	else
		b->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/* Ends a connection with an error; what names the step, err is an errno value or 0. */
static void s46bench_conn_fail(struct s46bench_conn *c, const char *what, int err)
{
	struct s46bench *b = c->b;

	if (c->st == BC_IDLE) {
		b->dropped++;
		/* Dropped before the check asked it: it will not answer either. */
		if (b->verifying && c->idx >= b->vnext)
			b->vpending--;
	} else if (b->verifying) {
		b->vfailed++;
		b->vpending--;
		b->vinflight--;
		s46bench_note_error(b, what, err);
	} else {
		if (b->mode == BENCH_IDLE)
			b->inflight--;
		s46bench_note_error(b, what, err);
	}
	s46bench_conn_free(c);
	if (b->verifying)
		s46bench_verify_more(b);
	s46bench_pump(b);
}

/*
 * Starts one connection. A failure here is counted but does not refill (the caller's loop
 * would recurse); returns 0 or -errno.
 */
static int s46bench_conn_open(struct s46bench *b)
{
	struct s46bench_conn *c = calloc(1, sizeof(*c));
	const char *what = "calloc";
	int one = 1, err = ENOMEM;

	b->opened++;
	if (!c)
		goto fail;
	c->b = b;
	c->t_start = s46bench_ns();
	c->st = BC_CONNECTING;
	c->fd = socket(b->hop.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = errno;
		what = "socket";
		goto fail;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The port is still picked by connect(): it only has to be unique per 4-tuple. */
	if (b->src.ss_family &&
	    (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
	     bind(c->fd, (struct sockaddr *)&b->src, addr_sa_len((struct sockaddr *)&b->src)))) {
		err = errno;
		what = "bind";
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&b->hop, b->hop_len) && errno != EINPROGRESS) {
		err = errno;
		what = "connect";
		goto fail;
	}
	err = ev_io_add(b->loop, c->fd, EV_WRITE, s46bench_conn_cb, c);
	if (err) {
		err = -err;
		what = "epoll";
		goto fail;
	}
	b->live++;
	if (b->mode == BENCH_IDLE)
		b->inflight++;
	c->next = b->head;
	if (b->head)
		b->head->prev = c;
	b->head = c;
	return 0;
fail:
	if (c && c->fd >= 0)
		close(c->fd);
	free(c);
	s46bench_note_error(b, what, err);
	return -err;
}

/* Small handshake messages go out whole on a fresh socket; a short write is an error. */
static int s46bench_conn_send_small(struct s46bench_conn *c, const void *p, size_t n)
{
	ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

	if (w == (ssize_t)n)
		return 0;
	return w < 0 ? -errno : -EAGAIN;
}

static void s46bench_conn_set_request(struct s46bench_conn *c, uint32_t op, uint64_t n)
{
	s46b_hdr_encode(c->hdr, op, n);
	c->hdr_off = 0;
	c->out_left = op == S46B_OP_SINK ? n : 0;
	c->in_left = op == S46B_OP_SEND ? n : 0;
	c->got_first = false;
	c->writing = true;
}

static int s46bench_conn_flush(struct s46bench_conn *c);

/* The tunnel is up (or the direct connection is): start the mode's traffic. */
static int s46bench_conn_tunnel(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;

	c->st = BC_RUN;
	c->rlen = 0;
	if (b->mode == BENCH_STREAM) {
		if (!b->t0)
			b->t0 = s46bench_ns();
		s46bench_conn_set_request(c, S46B_OP_SINK, b->chunk);
	} else {
		s46bench_conn_set_request(c, S46B_OP_SEND, b->mode == BENCH_RATE ? b->size : 1);
	}
	return s46bench_conn_flush(c);
}

static void s46bench_conn_connected(struct s46bench_conn *c)
{
	static const uint8_t greeting[3] = {5, 1, 0};
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		s46bench_conn_fail(c, c->b->socks ? "connect to proxy" : "connect", err);
		return;
	}
	if (!c->b->socks) {
		s46bench_conn_tunnel(c);
		return;
	}

	err = s46bench_conn_send_small(c, greeting, sizeof(greeting));
	if (err || ev_io_mod(c->b->loop, c->fd, EV_READ)) {
		s46bench_conn_fail(c, "send greeting", -err);
		return;
	}
	c->st = BC_METHOD;
}

/* Reads handshake bytes; returns 1 with more data, 0 to wait, -1 after failing c. */
static int s46bench_conn_read_handshake(struct s46bench_conn *c)
{
	ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);

	if (n > 0) {
		c->rlen += (unsigned)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	s46bench_conn_fail(c, n == 0 ? "proxy closed during handshake" : "recv handshake",
			   n == 0 ? 0 : errno);
	return -1;
}

static void s46bench_conn_on_method(struct s46bench_conn *c)
{
	int err;

	if (s46bench_conn_read_handshake(c) <= 0 || c->rlen < 2)
		return;
	if (c->rbuf[0] != 5 || c->rbuf[1] != 0 || c->rlen > 2) {
		s46bench_conn_fail(c, "proxy refused method 0x00", 0);
		return;
	}
	err = s46bench_conn_send_small(c, c->b->req, c->b->req_len);
	if (err) {
		s46bench_conn_fail(c, "send request", -err);
		return;
	}
	c->rlen = 0;
	c->st = BC_REPLY;
}

static void s46bench_conn_on_reply(struct s46bench_conn *c)
{
	unsigned need;
	char what[48];

	if (s46bench_conn_read_handshake(c) <= 0 || c->rlen < 5)
		return;
	switch (c->rbuf[3]) {
	case 1:
		need = 4 + 4 + 2;
		break;
	case 4:
		need = 4 + 16 + 2;
		break;
	case 3:
		need = 4 + 1 + c->rbuf[4] + 2;
		break;
	default:
		s46bench_conn_fail(c, "bad ATYP in SOCKS5 reply", 0);
		return;
	}
	if (c->rlen < need)
		return;
	if (c->rbuf[0] != 5 || c->rbuf[1] != 0 || c->rlen > need) {
		snprintf(what, sizeof(what), "SOCKS5 reply REP=0x%02x", c->rbuf[1]);
		s46bench_conn_fail(c, what, 0);
		return;
	}
	s46bench_conn_tunnel(c);
}

static void s46bench_conn_chunk_written(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;

	if (b->mode != BENCH_STREAM) {
		c->writing = false;
		return;
	}
	c->acks++;
	if (b->stopping)
		c->writing = false;
	else
		s46bench_conn_set_request(c, S46B_OP_SINK, b->chunk);
}

/* Writes what is due, a bounded amount per call; returns 0, or -1 after failing c. */
static int s46bench_conn_flush(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;

	for (int round = 0; c->writing && round < 64; round++) {
		struct iovec iov[2];
		int niov = 0;
		ssize_t n;

		if (c->hdr_off < S46B_HDR_LEN)
			iov[niov++] =
			    (struct iovec){c->hdr + c->hdr_off, S46B_HDR_LEN - c->hdr_off};
		if (c->out_left)
			iov[niov++] = (struct iovec){b->buf, c->out_left < BENCH_BUF ? c->out_left
										     : BENCH_BUF};
		n = writev(c->fd, iov, niov);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				s46bench_conn_fail(c, "send", errno);
				return -1;
			}
			break;
		}
		if (c->hdr_off < S46B_HDR_LEN) {
			size_t h = S46B_HDR_LEN - c->hdr_off;

			if ((size_t)n < h) {
				c->hdr_off += (unsigned)n;
				continue;
			}
			c->hdr_off = S46B_HDR_LEN;
			n -= (ssize_t)h;
		}
		c->out_left -= (uint64_t)n;
		if (c->out_left == 0) {
			/* Counted before the next read: the acknowledgement may come right away. */
			s46bench_conn_chunk_written(c);
			continue;
		}
		/* Level-triggered: a full socket buffer is the hint to wait for EV_WRITE. */
		if (n < (ssize_t)BENCH_BUF / 2)
			break;
	}
	if (ev_io_mod(b->loop, c->fd, c->writing ? EV_READ | EV_WRITE : EV_READ)) {
		s46bench_conn_fail(c, "epoll", ENOMEM);
		return -1;
	}
	return 0;
}

static void s46bench_lat_add(struct s46bench *b, uint64_t ns)
{
	if (b->nlat == b->caplat) {
		size_t cap = b->caplat ? b->caplat * 2 : 4096;
		uint32_t *p = realloc(b->lat, cap * sizeof(*p));

		if (!p)
			return;
		b->lat = p;
		b->caplat = cap;
	}
	b->lat[b->nlat++] = ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
}

static void s46bench_conn_stream_acks(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;

	while (c->rlen >= 8) {
		uint64_t v;

		memcpy(&v, c->rbuf, 8);
		if (be64toh(v) != b->chunk || c->acks == 0) {
			s46bench_conn_fail(c, "wrong acknowledgement from server", 0);
			return;
		}
		b->bytes += b->chunk;
		c->acks--;
		c->rlen -= 8;
		memmove(c->rbuf, c->rbuf + 8, c->rlen);
	}
	b->t_end = s46bench_ns();
	if (b->stopping && !c->writing && c->acks == 0) {
		s46bench_conn_free(c);
		s46bench_pump(b);
	}
}

/* A whole response arrived. */
static void s46bench_conn_response_done(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;

	if (b->verifying) {
		b->verified++;
		b->vpending--;
		b->vinflight--;
		c->st = BC_IDLE;
		s46bench_verify_more(b);
		s46bench_pump(b);
		return;
	}
	if (b->mode == BENCH_IDLE) {
		c->st = BC_IDLE;
		c->idx = b->nidle;
		b->idle[b->nidle++] = c;
		b->inflight--;
		s46bench_pump(b);
		return;
	}
	b->done++;
	b->t_end = s46bench_ns();
	s46bench_conn_free(c);
	s46bench_pump(b);
}

static void s46bench_conn_on_run(struct s46bench_conn *c)
{
	struct s46bench *b = c->b;
	ssize_t n;

	if (b->mode == BENCH_STREAM) {
		n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
	} else {
		size_t want = c->in_left < BENCH_BUF ? c->in_left : BENCH_BUF;

		n = recv(c->fd, b->buf, want ? want : 1, 0);
		if (n > 0 && (uint64_t)n > c->in_left) {
			s46bench_conn_fail(c, "more response bytes than requested", 0);
			return;
		}
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		s46bench_conn_fail(c, n == 0 ? "connection closed early" : "recv",
				   n == 0 ? 0 : errno);
		return;
	}
	if (b->mode == BENCH_STREAM) {
		c->rlen += (unsigned)n;
		s46bench_conn_stream_acks(c);
		return;
	}
	if (!c->got_first) {
		c->got_first = true;
		if (b->mode == BENCH_RATE)
			s46bench_lat_add(b, s46bench_ns() - c->t_start);
	}
	c->in_left -= (uint64_t)n;
	if (c->in_left == 0)
		s46bench_conn_response_done(c);
}

static void s46bench_conn_on_idle(struct s46bench_conn *c)
{
	char x;
	ssize_t n = recv(c->fd, &x, 1, MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	s46bench_conn_fail(c, "idle connection closed", 0);
}

static void s46bench_conn_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct s46bench_conn *c = arg;

	switch (c->st) {
	case BC_CONNECTING:
		s46bench_conn_connected(c);
		return;
	case BC_METHOD:
		s46bench_conn_on_method(c);
		return;
	case BC_REPLY:
		s46bench_conn_on_reply(c);
		return;
	case BC_RUN:
		/* Writing first: reading may end (and free) the connection. */
		if (events & EV_WRITE && c->writing && s46bench_conn_flush(c))
			return;
		if (events & EV_READ)
			s46bench_conn_on_run(c);
		return;
	case BC_IDLE:
		s46bench_conn_on_idle(c);
		return;
	}
}

static int s46bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t s46bench_pct(struct s46bench *b, unsigned pct)
{
	size_t i;

	if (!b->nlat)
		return 0;
	i = (b->nlat * pct + 99) / 100;
	return b->lat[i ? i - 1 : 0];
}

static double s46bench_secs(struct s46bench *b)
{
	return b->t_end > b->t0 ? (double)(b->t_end - b->t0) / 1e9 : 0.0;
}

static void s46bench_report(struct s46bench *b)
{
	double secs = s46bench_secs(b);

	switch (b->mode) {
	case BENCH_STREAM:
		printf("mode=stream streams=%u bytes=%" PRIu64
		       " secs=%.3f gbps=%.2f errors=%" PRIu64 "\n",
		       b->conc, b->bytes, secs, secs > 0 ? (double)b->bytes * 8 / secs / 1e9 : 0.0,
		       b->errors);
		break;
	case BENCH_RATE:
		if (b->nlat)
			qsort(b->lat, b->nlat, sizeof(*b->lat), s46bench_cmp_u32);
		printf("mode=rate conc=%u conns=%" PRIu64 " secs=%.3f cps=%.0f p50_us=%u p99_us=%u "
		       "errors=%" PRIu64 "\n",
		       b->conc, b->done, secs, secs > 0 ? (double)b->done / secs : 0.0,
		       s46bench_pct(b, 50), s46bench_pct(b, 99), b->errors);
		break;
	case BENCH_IDLE:
		printf("mode=idle-verify established=%u dropped=%u verified=%u failed=%u "
		       "errors=%" PRIu64 "\n",
		       b->nidle, b->dropped, b->verified, b->vfailed, b->errors);
		break;
	case BENCH_UDP: /* s46bench_udp_report */
		break;
	}
	if (b->errors)
		fprintf(stderr, "s46bench: %" PRIu64 " errors, first: %s\n", b->errors,
			b->first_err);
	fflush(stdout);
}

static void s46bench_ready(struct s46bench *b)
{
	FILE *f;

	b->t_end = s46bench_ns();
	printf("mode=idle established=%u errors=%" PRIu64 " secs=%.3f\n", b->nidle, b->errors,
	       s46bench_secs(b));
	fflush(stdout);
	if (b->errors)
		fprintf(stderr, "s46bench: %" PRIu64 " errors while opening, first: %s\n",
			b->errors, b->first_err);
	/* --hold counts from here, with or without a ready file. */
	ev_timer_start(b->loop, &b->hard, b->hold_ms);
	if (!b->ready_file)
		return;
	f = fopen(b->ready_file, "w");
	if (!f) {
		log_warn("%s", b->ready_file);
		return;
	}
	fprintf(f, "established=%u errors=%" PRIu64 "\n", b->nidle, b->errors);
	fclose(f);
}

/*
 * Asks the next idle connections, --conc at a time: 100,000 bytes sent at once would be
 * 100,000 segments in one burst, more than loopback's backlog takes, and the drops cost
 * retransmission timeouts, not relaying.
 */
static void s46bench_verify_more(struct s46bench *b)
{
	if (b->vstarting)
		return;
	b->vstarting = true;
	while (b->vinflight < b->conc && b->vnext < b->nidle) {
		struct s46bench_conn *c = b->idle[b->vnext++];

		if (!c)
			continue;
		c->st = BC_RUN;
		b->vinflight++;
		s46bench_conn_set_request(c, S46B_OP_SEND, 1);
		s46bench_conn_flush(c);
	}
	b->vstarting = false;
}

/* Every idle connection asks for one more byte: proof that it still relays. */
static void s46bench_verify(struct s46bench *b)
{
	if (b->verifying)
		return;
	b->verifying = true;
	for (unsigned i = 0; i < b->nidle; i++)
		b->vpending += b->idle[i] != NULL;
	ev_timer_start(b->loop, &b->hard, b->verify_ms);
	s46bench_verify_more(b);
	s46bench_pump(b);
}

static void s46bench_pump(struct s46bench *b)
{
	switch (b->mode) {
	case BENCH_STREAM:
		if (b->live == 0)
			ev_stop(b->loop);
		break;
	case BENCH_RATE:
		/* After a failed open, retry from a timer instead of spinning here. */
		while (!b->stopping && b->live < b->conc && !ev_timer_armed(&b->refill))
			if (s46bench_conn_open(b))
				ev_timer_start(b->loop, &b->refill, 1);
		if (b->stopping && b->live == 0)
			ev_stop(b->loop);
		break;
	case BENCH_IDLE:
		if (b->verifying) {
			if (b->vpending == 0)
				ev_stop(b->loop);
			break;
		}
		while (b->opened < b->target_n && b->inflight < b->conc)
			s46bench_conn_open(b);
		if (b->opened == b->target_n && b->inflight == 0 && !b->stopping) {
			b->stopping = true;
			s46bench_ready(b);
		}
		break;
	case BENCH_UDP: /* s46bench_udp_main runs without the event loop */
		break;
	}
}

static void s46bench_refill_cb(struct ev_loop *loop, struct ev_timer *t)
{
	s46bench_pump(container_of(t, struct s46bench, refill));
}

static void s46bench_deadline_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct s46bench *b = container_of(t, struct s46bench, deadline);

	b->stopping = true;
	s46bench_pump(b);
}

/* Says where unfinished connections stand: which side of a relay stalled. */
static void s46bench_dump_stuck(struct s46bench *b)
{
	static const char *const names[] = {"connecting", "method", "reply", "run", "idle"};
	unsigned shown = 0;

	fprintf(stderr, "s46bench: %u connections unfinished at the time limit\n", b->live);
	for (struct s46bench_conn *c = b->head; c && shown < 5; c = c->next) {
		if (c->st == BC_IDLE)
			continue;
		fprintf(stderr,
			"s46bench:   fd %d %s writing=%d hdr_off=%u out_left=%" PRIu64
			" in_left=%" PRIu64 " acks=%u rlen=%u events=%u\n",
			c->fd, names[c->st], c->writing, c->hdr_off, c->out_left, c->in_left,
			c->acks, c->rlen, ev_io_events(b->loop, c->fd));
		shown++;
	}
}

/* The hard limit: whatever has not finished by now is an error. */
static void s46bench_hard_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct s46bench *b = container_of(t, struct s46bench, hard);

	if (b->mode == BENCH_IDLE && b->stopping && !b->verifying) {
		s46bench_verify(b);
		return;
	}
	if (b->mode == BENCH_IDLE && b->verifying) {
		b->vfailed += b->vpending;
		b->vpending = 0;
	}
	if (b->live) {
		s46bench_note_error(b, "timeout", ETIMEDOUT);
		s46bench_dump_stuck(b);
	}
	ev_stop(loop);
}

static void s46bench_sig_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct s46bench *b = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1 && b->mode == BENCH_IDLE && b->stopping) {
		s46bench_verify(b);
		return;
	}
	s46bench_note_error(b, "interrupted", EINTR);
	ev_stop(loop);
}

static int s46bench_signals(struct s46bench *b)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	b->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (b->sigfd < 0)
		return -errno;
	return ev_io_add(b->loop, b->sigfd, EV_READ, s46bench_sig_cb, b);
}

/* Builds the CONNECT request: the target's address, or its name with remote_dns. */
static int s46bench_build_request(struct s46bench *b, const char *target, bool remote_dns)
{
	uint8_t *p = b->req;

	*p++ = 5;
	*p++ = 1;
	*p++ = 0;
	if (remote_dns) {
		char host[256], port[16];
		char *end;
		unsigned long n;
		size_t len;

		if (s46b_split_hostport(target, host, sizeof(host), port, sizeof(port)))
			return -EINVAL;
		n = strtoul(port, &end, 10);
		len = strlen(host);
		if (*end || n == 0 || n > 65535 || len > 255)
			return -EINVAL;
		*p++ = 3;
		*p++ = (uint8_t)len;
		memcpy(p, host, len);
		p += len;
		*p++ = (uint8_t)(n >> 8);
		*p++ = (uint8_t)n;
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		int err = s46b_resolve(target, &ss, &len);

		if (err)
			return err;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			*p++ = 1;
			memcpy(p, &sin->sin_addr, 4);
			p += 4;
			memcpy(p, &sin->sin_port, 2);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			*p++ = 4;
			memcpy(p, &sin6->sin6_addr, 16);
			p += 16;
			memcpy(p, &sin6->sin6_port, 2);
		}
		p += 2;
	}
	b->req_len = (size_t)(p - b->req);
	return 0;
}

static void s46bench_usage(FILE *f)
{
	fprintf(
	    f, "usage: s46bench stream|rate|idle --target HOST:PORT [--socks HOST:PORT] [OPTIONS]\n"
	       "  stream   push data to an s46sink for --duration; prints Gbit/s\n"
	       "  rate     connection + request/response + close, --conc in flight; prints\n"
	       "           connections/s and p50/p99 connect-to-first-byte latency\n"
	       "  idle     open --count relayed connections and hold them; SIGUSR1 (or --hold)\n"
	       "           checks every one still relays, then exits\n"
	       "  udp      --conc sockets send --size-byte datagrams to an s46sink --udp\n"
	       "           echo; prints datagrams/s sent and echoed, and the loss\n"
	       "options:\n"
	       "  --target HOST:PORT  the s46sink; a name is resolved with getaddrinfo\n"
	       "  --socks HOST:PORT   go through this SOCKS5 proxy (method 0x00, CONNECT)\n"
	       "  --source ADDR       connect from this local address (one loopback 4-tuple\n"
	       "                      has one ephemeral port range: more sources, more conns)\n"
	       "  --remote-dns        send the target's name (ATYP=DOMAINNAME) to the proxy\n"
	       "  --conc N            streams / connections in flight (default 1 / 32 / 256)\n"
	       "  --duration SECS     length of stream and rate runs (default 2)\n"
	       "  --chunk BYTES       stream: bytes per acknowledged chunk (default 16 MiB)\n"
	       "  --size BYTES        rate: response size (default 64)\n"
	       "  --count N           idle: connections to hold (default 10000)\n"
	       "  --ready-file PATH   idle: written once all connections are open\n"
	       "  --hold SECS         idle: verify on its own after this long (default 60)\n"
	       "  --verify-secs SECS  idle: time for every connection to answer (default 15)\n"
	       "  --timeout SECS      hard limit for the whole run (default duration + 30)\n"
	       "  --window N          udp: datagrams in flight per socket, sent as echoes come\n"
	       "                      back (default 64): the path runs saturated\n"
	       "  --rate N            udp: send N datagrams/s in all, paced (no window)\n");
}

static int s46bench_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "s46bench: bad number '%s'\n", s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int s46bench_parse(struct s46bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"socks", required_argument, NULL, 's'},
	    {"source", required_argument, NULL, 'S'},
	    {"remote-dns", no_argument, NULL, 'r'},
	    {"conc", required_argument, NULL, 'c'},
	    {"duration", required_argument, NULL, 'd'},
	    {"chunk", required_argument, NULL, 'k'},
	    {"size", required_argument, NULL, 'z'},
	    {"count", required_argument, NULL, 'n'},
	    {"ready-file", required_argument, NULL, 'f'},
	    {"hold", required_argument, NULL, 'H'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"verify-secs", required_argument, NULL, 'V'},
	    {"window", required_argument, NULL, 'w'},
	    {"rate", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *target = NULL, *socks = NULL, *source = NULL;
	bool remote_dns = false;
	uint64_t conc = 0, dur = 2, n = 10000, hold = 60, tmo = 0, vsecs = 15;
	int c, err = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		s46bench_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? -EINVAL : 1;
	}
	if (!strcmp(argv[1], "stream"))
		b->mode = BENCH_STREAM;
	else if (!strcmp(argv[1], "rate"))
		b->mode = BENCH_RATE;
	else if (!strcmp(argv[1], "idle"))
		b->mode = BENCH_IDLE;
	else if (!strcmp(argv[1], "udp"))
		b->mode = BENCH_UDP;
	else {
		fprintf(stderr, "s46bench: unknown mode '%s' (stream, rate, idle or udp)\n",
			argv[1]);
		return -EINVAL;
	}
	b->chunk = 16u << 20;
	b->size = b->mode == BENCH_UDP ? 1200 : 64;
	b->window = 64;
	while (!err && (c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 's':
			socks = optarg;
			break;
		case 'S':
			source = optarg;
			break;
		case 'r':
			remote_dns = true;
			break;
		case 'c':
			err = s46bench_num(optarg, 1000000, &conc);
			break;
		case 'd':
			err = s46bench_num(optarg, 3600, &dur);
			break;
		case 'k':
			err = s46bench_num(optarg, 1ull << 40, &b->chunk);
			break;
		case 'z':
			err = s46bench_num(optarg, 1ull << 30, &b->size);
			break;
		case 'n':
			err = s46bench_num(optarg, 10000000, &n);
			break;
		case 'f':
			b->ready_file = optarg;
			break;
		case 'H':
			err = s46bench_num(optarg, 86400, &hold);
			break;
		case 'T':
			err = s46bench_num(optarg, 86400, &tmo);
			break;
		case 'V':
			err = s46bench_num(optarg, 86400, &vsecs);
			break;
		case 'w':
			err = s46bench_num(optarg, 4096, &b->window);
			break;
		case 'R':
			err = s46bench_num(optarg, 100000000, &b->rate);
			break;
		case 'h':
			s46bench_usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (err)
		return err;
	if (optind != argc - 1 || !target) {
		fprintf(stderr, "s46bench: --target HOST:PORT is required (try --help)\n");
		return -EINVAL;
	}
	if (!conc)
		conc = b->mode == BENCH_STREAM || b->mode == BENCH_UDP ? 1
		       : b->mode == BENCH_RATE			       ? 32
								       : 256;
	if (b->mode == BENCH_UDP &&
	    (socks || b->size > S46B_UDP_MAX || b->size < 8 || b->window == 0 || conc > 1024)) {
		fprintf(stderr,
			"s46bench: udp takes no --socks, a --size of 8-%d, a positive "
			"--window and at most 1024 sockets\n",
			S46B_UDP_MAX);
		return -EINVAL;
	}
	if (b->chunk == 0 || b->size == 0 || n == 0 || dur == 0 || vsecs == 0) {
		fprintf(stderr, "s46bench: sizes, counts and durations must be positive\n");
		return -EINVAL;
	}
	b->conc = (unsigned)conc;
	b->target_n = (unsigned)n;
	b->duration_ms = dur * 1000;
	b->hold_ms = hold * 1000;
	b->verify_ms = vsecs * 1000;
	b->timeout_ms = (tmo ? tmo : dur + 30) * 1000;
	b->socks = socks != NULL;
	err = s46b_resolve(socks ? socks : target, &b->hop, &b->hop_len);
	if (!err && socks)
		err = s46bench_build_request(b, target, remote_dns);
	if (err) {
		fprintf(stderr, "s46bench: cannot use %s\n",
			socks ? "--socks/--target" : "--target");
		return err;
	}
	if (source && (b->mode == BENCH_UDP || addr_parse_ip(source, &b->src, NULL) < 0 ||
		       b->src.ss_family != b->hop.ss_family)) {
		fprintf(stderr, "s46bench: --source takes an address of the target's family "
				"(not for udp)\n");
		return -EINVAL;
	}
	return 0;
}

static int s46bench_start(struct s46bench *b)
{
	int err;

	b->buf = malloc(BENCH_BUF);
	if (ev_loop_new(&b->loop) < 0 || !b->buf)
		return -ENOMEM;
	memset(b->buf, 'x', BENCH_BUF);
	if (b->mode == BENCH_IDLE) {
		b->idle = calloc(b->target_n, sizeof(*b->idle));
		if (!b->idle)
			return -ENOMEM;
	}
	ev_timer_init(&b->deadline, s46bench_deadline_cb);
	ev_timer_init(&b->hard, s46bench_hard_cb);
	ev_timer_init(&b->refill, s46bench_refill_cb);
	err = s46bench_signals(b);
	if (err)
		return err;
	if (b->mode != BENCH_IDLE && ev_timer_start(b->loop, &b->deadline, b->duration_ms))
		return -ENOMEM;
	if (ev_timer_start(b->loop, &b->hard, b->timeout_ms))
		return -ENOMEM;
	b->t0 = b->mode == BENCH_STREAM ? 0 : s46bench_ns();
	if (b->mode == BENCH_STREAM)
		for (unsigned i = 0; i < b->conc; i++)
			s46bench_conn_open(b);
	s46bench_pump(b);
	return 0;
}

/* Closes what is still open; accepts a half-started bench. */
static void s46bench_free(struct s46bench *b)
{
	while (b->head)
		s46bench_conn_free(b->head);
	if (b->sigfd >= 0)
		close(b->sigfd);
	ev_loop_free(b->loop);
	free(b->buf);
	free(b->lat);
	free(b->idle);
}

/* ---- udp: datagrams to an s46sink echo, without the event loop ---- */

#define UDP_BATCH 32
/* Window mode: each datagram carries its socket's sequence number, and an echo tells that
 * everything before it is back or lost, so loss does not shrink the window; a socket that got
 * nothing back this long sends its window again. */
#define UDP_REFILL_MS 100
/* After the run: how long echoes may keep coming with nothing else arriving. */
#define UDP_DRAIN_MS 300

struct s46bench_udp {
	struct s46bench *b;
	int ep;
	unsigned n;
	int *fd;
	uint64_t *acked, *last_ns, *seq; /* per socket: echoed up to, last echo, next */
	struct mmsghdr out[UDP_BATCH], in[UDP_BATCH];
	struct iovec oiov[UDP_BATCH], iiov[UDP_BATCH];
	uint8_t *rbuf, *obuf;
	uint64_t sent, recv, recv_late;
	bool counting;
};

static int s46bench_udp_open(struct s46bench_udp *u, unsigned i)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
	int buf = 4 << 20;

	u->fd[i] = socket(u->b->hop.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd[i] < 0)
		return -errno;
	/* Past rmem_max when root: echoes wait here while the machine runs something else. */
	if (setsockopt(u->fd[i], SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(u->fd[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(u->fd[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return epoll_ctl(u->ep, EPOLL_CTL_ADD, u->fd[i], &ev) ? -errno : 0;
}

static int s46bench_udp_init(struct s46bench_udp *u, struct s46bench *b)
{
	int err;

	u->b = b;
	u->n = b->conc;
	u->ep = epoll_create1(EPOLL_CLOEXEC);
	u->fd = calloc(u->n, sizeof(*u->fd));
	u->acked = calloc(u->n, sizeof(*u->acked));
	u->last_ns = calloc(u->n, sizeof(*u->last_ns));
	u->seq = calloc(u->n, sizeof(*u->seq));
	u->rbuf = malloc((size_t)UDP_BATCH * S46B_UDP_MAX);
	u->obuf = malloc((size_t)UDP_BATCH * b->size);
	if (u->ep < 0 || !u->fd || !u->acked || !u->last_ns || !u->seq || !u->rbuf || !u->obuf)
		return -ENOMEM;
	memset(u->obuf, 'u', (size_t)UDP_BATCH * b->size);
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		u->oiov[i] =
		    (struct iovec){.iov_base = u->obuf + (size_t)i * b->size, .iov_len = b->size};
		u->out[i].msg_hdr = (struct msghdr){.msg_name = &b->hop,
						    .msg_namelen = b->hop_len,
						    .msg_iov = &u->oiov[i],
						    .msg_iovlen = 1};
		u->iiov[i] = (struct iovec){.iov_base = u->rbuf + (size_t)i * S46B_UDP_MAX,
					    .iov_len = S46B_UDP_MAX};
		u->in[i].msg_hdr = (struct msghdr){.msg_iov = &u->iiov[i], .msg_iovlen = 1};
	}
	for (unsigned i = 0; i < u->n; i++)
		u->fd[i] = -1;
	for (unsigned i = 0; i < u->n; i++) {
		err = s46bench_udp_open(u, i);
		if (err)
			return err;
	}
	return 0;
}

static void s46bench_udp_free(struct s46bench_udp *u)
{
	for (unsigned i = 0; u->fd && i < u->n; i++)
		if (u->fd[i] >= 0)
			close(u->fd[i]);
	if (u->ep >= 0)
		close(u->ep);
	free(u->fd);
	free(u->acked);
	free(u->last_ns);
	free(u->seq);
	free(u->rbuf);
	free(u->obuf);
}

/* Sends up to want datagrams on socket i; a full buffer is not an error. */
static void s46bench_udp_send(struct s46bench_udp *u, unsigned i, uint64_t want)
{
	while (want) {
		unsigned k = want < UDP_BATCH ? (unsigned)want : UDP_BATCH;
		int r;

		for (unsigned j = 0; j < k; j++)
			memcpy(u->oiov[j].iov_base, &(uint64_t){u->seq[i] + j}, 8);
		r = sendmmsg(u->fd[i], u->out, k, 0);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
				s46bench_note_error(u->b, "sendmmsg", errno);
			return;
		}
		u->sent += (unsigned)r;
		u->seq[i] += (unsigned)r;
		want -= (unsigned)r;
		if ((unsigned)r < k)
			return;
	}
}

/* Reads every echo waiting on socket i. Returns how many. */
static unsigned s46bench_udp_drain(struct s46bench_udp *u, unsigned i, uint64_t now)
{
	unsigned got = 0;
	uint64_t s;
	int r;

	while ((r = recvmmsg(u->fd[i], u->in, UDP_BATCH, MSG_DONTWAIT, NULL)) > 0) {
		got += (unsigned)r;
		for (int j = 0; j < r; j++) {
			if (u->in[j].msg_len < 8)
				continue;
			memcpy(&s, u->iiov[j].iov_base, 8);
			/* Echoes of a window sent again may come after newer ones. */
			if (s < u->seq[i] && s >= u->acked[i])
				u->acked[i] = s + 1;
		}
		if (r < UDP_BATCH)
			break;
	}
	if (got) {
		u->last_ns[i] = now;
		if (u->counting)
			u->recv += got;
		else
			u->recv_late += got;
	}
	return got;
}

/* What each socket sends now: its window's free room, or its share of the paced total. */
static void s46bench_udp_fill(struct s46bench_udp *u, uint64_t now)
{
	struct s46bench *b = u->b;

	if (b->rate) {
		uint64_t due = b->rate * (now - b->t0) / 1000000000u;

		for (unsigned i = 0; due > u->sent && i < u->n; i++)
			s46bench_udp_send(u, i, (due - u->sent + u->n - 1 - i) / (u->n - i));
		return;
	}
	for (unsigned i = 0; i < u->n; i++) {
		uint64_t out = u->seq[i] - u->acked[i];

		if (now - u->last_ns[i] > UDP_REFILL_MS * 1000000ull) {
			u->acked[i] = u->seq[i];
			u->last_ns[i] = now;
			out = 0;
		}
		if (out < b->window)
			s46bench_udp_send(u, i, b->window - out);
	}
}

/* Waits for echoes (at most ms) and reads them. Returns how many came. */
static unsigned s46bench_udp_wait(struct s46bench_udp *u, int ms)
{
	struct epoll_event ev[64];
	uint64_t now;
	unsigned got = 0;
	int n = epoll_wait(u->ep, ev, 64, ms);

	now = s46bench_ns();
	for (int k = 0; k < n; k++)
		got += s46bench_udp_drain(u, ev[k].data.u32, now);
	return got;
}

static void s46bench_udp_report(struct s46bench_udp *u, double secs)
{
	struct s46bench *b = u->b;
	uint64_t back = u->recv + u->recv_late;
	uint64_t lost = u->sent > back ? u->sent - back : 0;

	printf("mode=udp socks=%u size=%" PRIu64 " window=%" PRIu64 " rate=%" PRIu64
	       " sent=%" PRIu64 " recv=%" PRIu64 " secs=%.3f sent_dps=%.0f dps=%.0f lost=%" PRIu64
	       " loss_pct=%.3f errors=%" PRIu64 "\n",
	       u->n, b->size, b->rate ? 0 : b->window, b->rate, u->sent, back, secs,
	       secs > 0 ? (double)u->sent / secs : 0.0, secs > 0 ? (double)u->recv / secs : 0.0,
	       lost, u->sent ? 100.0 * (double)lost / (double)u->sent : 0.0, b->errors);
	if (b->errors)
		fprintf(stderr, "s46bench: %" PRIu64 " errors, first: %s\n", b->errors,
			b->first_err);
	fflush(stdout);
}

/* Sends for --duration, then waits for the last echoes; loss is what never came back. */
static int s46bench_udp_main(struct s46bench *b)
{
	struct s46bench_udp u = {.ep = -1};
	uint64_t now, end, quiet;
	int err = s46bench_udp_init(&u, b);

	if (err) {
		fprintf(stderr, "s46bench: udp: %s\n", strerror(-err));
		s46bench_udp_free(&u);
		return 1;
	}
	b->t0 = now = s46bench_ns();
	end = b->t0 + b->duration_ms * 1000000u;
	for (unsigned i = 0; i < u.n; i++)
		u.last_ns[i] = now;
	u.counting = true;
	while (now < end && (!b->errors || u.recv)) {
		s46bench_udp_fill(&u, now);
		s46bench_udp_wait(&u, b->rate ? 1 : UDP_REFILL_MS);
		now = s46bench_ns();
	}
	b->t_end = now;
	u.counting = false;
	for (quiet = now; now - quiet < UDP_DRAIN_MS * 1000000ull; now = s46bench_ns())
		if (s46bench_udp_wait(&u, UDP_DRAIN_MS))
			quiet = s46bench_ns();
	s46bench_udp_report(&u, (double)(b->t_end - b->t0) / 1e9);
	err = b->errors ? 1 : 0;
	s46bench_udp_free(&u);
	return err;
}

int main(int argc, char **argv)
{
	struct s46bench b = {.sigfd = -1};
	int err, rc = 1;

	log_init(LOG_LVL_WARN, "s46bench");
	signal(SIGPIPE, SIG_IGN);
	s46b_raise_nofile();
	err = s46bench_parse(&b, argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (b.mode == BENCH_UDP)
		return s46bench_udp_main(&b);
	err = s46bench_start(&b);
	if (err) {
		fprintf(stderr, "s46bench: cannot start: %s\n", strerror(-err));
		goto out;
	}
	err = ev_run(b.loop);
	if (err) {
		fprintf(stderr, "s46bench: event loop: %s\n", strerror(-err));
		goto out;
	}
	if (b.mode == BENCH_IDLE && !b.verifying)
		b.vfailed = b.nidle - b.dropped;
	s46bench_report(&b);
	rc = b.errors || b.dropped || b.vfailed ? 1 : 0;
out:
	s46bench_free(&b);
	return rc;
}
