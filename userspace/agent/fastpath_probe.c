/* fastpath_probe.c — proves the fast path on the running kernel with a real loopback transfer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastpath_int.h"

/* A kernel that has not moved these bytes in this time is taken as one where it stalls. */
#define FASTPATH_PROBE_MS 3000
#define FASTPATH_PROBE_EARLY (64 * 1024) /* queued before the pair is linked */
#define FASTPATH_PROBE_UP (1024 * 1024)
#define FASTPATH_PROBE_DOWN (64 * 1024)

/* One direction: written into `from`, read back from `to`. */
struct fastpath_probe_dir {
	int from, to;
	size_t sent, got, total;
	const char *name;
};

static uint8_t fastpath_probe_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

static long fastpath_probe_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected pair over the listener lfd: c connected, s accepted. 0 or -errno. */
static int fastpath_probe_connect(int lfd, const struct sockaddr_in *sa, int *c, int *s)
{
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*c < 0 || connect(*c, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return -errno;
	*s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*s < 0)
		return -errno;
	return 0;
}

static int fastpath_probe_send(struct fastpath_probe_dir *d, size_t upto)
{
	uint8_t buf[16384];

	while (d->sent < upto) {
		size_t n = upto - d->sent < sizeof(buf) ? upto - d->sent : sizeof(buf);
		ssize_t w;

		for (size_t k = 0; k < n; k++)
			buf[k] = fastpath_probe_byte(d->sent + k);
		w = send(d->from, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			return errno == EAGAIN ? 0 : -errno;
		d->sent += (size_t)w;
	}
	return 0;
}

/* Reads what arrived and checks it; 0, or -EPROTO with why filled. */
static int fastpath_probe_recv(struct fastpath_probe_dir *d, char *why, size_t len)
{
	uint8_t buf[16384];
	ssize_t n;

	while ((n = recv(d->to, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t k = 0; k < n; k++) {
			if (d->got + (size_t)k >= d->total ||
			    buf[k] != fastpath_probe_byte(d->got + (size_t)k)) {
				snprintf(why, len, "probe transfer %s: wrong byte at %zu", d->name,
					 d->got + (size_t)k);
				return -EPROTO;
			}
		}
		d->got += (size_t)n;
	}
	if (n == 0) {
		snprintf(why, len, "probe transfer %s: EOF after %zu of %zu bytes", d->name, d->got,
			 d->total);
		return -EPROTO;
	}
	return errno == EAGAIN ? 0 : -errno;
}

/* Both directions at once until done or the deadline. 0 or -errno with why filled. */
static int fastpath_probe_move(struct fastpath_probe_dir d[2], long deadline, char *why, size_t len)
{
	int err = 0;

	while (!err && (d[0].got < d[0].total || d[1].got < d[1].total)) {
		struct pollfd pfd[2] = {{.fd = d[0].to, .events = POLLIN},
					{.fd = d[1].to, .events = POLLIN}};
		long left = deadline - fastpath_probe_ms();

		if (left <= 0) {
			snprintf(why, len,
				 "probe transfer stalled: %zu of %zu bytes one way, %zu of %zu the "
				 "other",
				 d[0].got, d[0].total, d[1].got, d[1].total);
			return -ETIMEDOUT;
		}
		for (int i = 0; i < 2 && !err; i++)
			err = fastpath_probe_send(&d[i], d[i].total);
		if (!err && poll(pfd, 2, left > 20 ? 20 : (int)left) < 0 && errno != EINTR)
			err = -errno;
		for (int i = 0; i < 2 && !err; i++)
			err = fastpath_probe_recv(&d[i], why, len);
	}
	if (err && !*why)
		snprintf(why, len, "probe transfer: %s", strerror(-err));
	return err;
}

/* The FIN of x1 must show on x2 as EPOLLRDHUP (POLLRDHUP), the agent's only wake-up. */
static int fastpath_probe_fin(int x1, int x2, long deadline, char *why, size_t len)
{
	struct pollfd pfd = {.fd = x2, .events = POLLRDHUP};
	long left = deadline - fastpath_probe_ms();

	if (shutdown(x1, SHUT_WR) < 0)
		return -errno;
	if (left <= 0 || poll(&pfd, 1, (int)left) != 1 || !(pfd.revents & POLLRDHUP)) {
		snprintf(why, len, "probe transfer: the FIN did not show (POLLRDHUP)");
		return -ETIMEDOUT;
	}
	return 0;
}

static int fastpath_probe_run(struct fastpath *fp, const int fd[4], char *why, size_t len)
{
	/* x1 -> x2 (in the map) -> y1 (in the map) -> y2, and back. */
	struct fastpath_probe_dir d[2] = {
	    {.from = fd[0],
	     .to = fd[3],
	     .total = FASTPATH_PROBE_EARLY + FASTPATH_PROBE_UP,
	     .name = "one way"},
	    {.from = fd[3], .to = fd[0], .total = FASTPATH_PROBE_DOWN, .name = "the other way"},
	};
	const int pair[2] = {fd[1], fd[2]};
	long deadline = fastpath_probe_ms() + FASTPATH_PROBE_MS;
	struct s46_fast_val v[2];
	uint64_t cookie[2] = {0, 0};
	int err;

	if ((err = fastpath_probe_send(&d[0], FASTPATH_PROBE_EARLY)) < 0 ||
	    d[0].sent < FASTPATH_PROBE_EARLY)
		return err ? err : -EAGAIN;
	if ((err = fastpath_link(fp, pair, cookie)) < 0) {
		snprintf(why, len, "cannot put sockets in the SOCKHASH: %s", strerror(-err));
		return err;
	}
	err = fastpath_probe_move(d, deadline, why, len);
	if (!err)
		err = fastpath_probe_fin(fd[0], fd[1], deadline, why, len);
	for (int i = 0; !err && i < 2; i++) {
		int serr = 0;
		socklen_t sl = sizeof(serr);

		fastpath_kick(pair[i]);
		if (getsockopt(pair[i], SOL_SOCKET, SO_ERROR, &serr, &sl) < 0 || serr) {
			snprintf(why, len, "probe transfer: socket error after the FIN: %s",
				 strerror(serr ? serr : errno));
			err = -EPROTO;
			break;
		}
		fastpath_val(fp, cookie[i], &v[i]);
		if (v[i].held || v[i].bytes != d[i].total) {
			snprintf(why, len,
				 "probe transfer: %llu bytes counted, %zu moved, %llu held",
				 (unsigned long long)v[i].bytes, d[i].total,
				 (unsigned long long)v[i].held);
			err = -EPROTO;
		}
	}
	fastpath_unlink(fp, cookie);
	return err;
}

int fastpath_probe(struct fastpath *fp, char *why, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int lfd, fd[4] = {-1, -1, -1, -1}, err;

	*why = '\0';
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		err = -errno;
	else if (!(err = fastpath_probe_connect(lfd, &sa, &fd[0], &fd[1])) &&
		 !(err = fastpath_probe_connect(lfd, &sa, &fd[2], &fd[3])))
		err = fastpath_probe_run(fp, fd, why, len);
	if (err && !*why)
		snprintf(why, len, "probe transfer over loopback: %s", strerror(-err));
	for (int i = 0; i < 4; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (lfd >= 0)
		close(lfd);
	return err;
}
