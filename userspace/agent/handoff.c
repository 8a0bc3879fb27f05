/* handoff.c — passes redirected connections to a gateway on this host over its Unix socket. */
#include "handoff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "socks5.h"

/* While every channel is full, one warning a minute at most: a busy gateway is no outage. */
#define HANDOFF_FULL_WARN_MS 60000

struct handoff {
	struct ev_loop *loop;
	struct sockaddr_un sun;
	socklen_t sunlen;
	int fds[HANDOFF_MAX_CHANNELS]; /* -1: not open */
	unsigned nchan, next;	       /* channels to use, the next one round robin */
	uint64_t redial_at;	       /* no dialling before then (after a failure) */
	int last_err;		       /* why the last channel failed */
	bool failing;		       /* warned that handoff stopped working */
	bool gateways;		       /* fallback goes to TCP gateways (else: reset) */
	uint64_t full_warned;	       /* when "channels full" was last said, 0: never */
	handoff_clock_fn *clock;
	void *clock_arg;
	struct handoff_stats stats;
};

static uint64_t handoff_loop_clock(void *arg)
{
	return ev_now(arg);
}

static unsigned handoff_nchan(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > HANDOFF_MAX_CHANNELS ? HANDOFF_MAX_CHANNELS : (unsigned)n;
}

/* A connected, non-blocking channel in *fd. Returns 0 or -errno. */
static int handoff_dial(struct handoff *h, int *fd)
{
	int s, sndbuf = HANDOFF_SNDBUF, err;

	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	/* Room for a burst of connections while the gateway is busy; capped by wmem_max. */
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(s, (struct sockaddr *)&h->sun, h->sunlen) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	h->stats.channels++;
	return 0;
}

static void handoff_close(struct handoff *h, unsigned i)
{
	close(h->fds[i]);
	h->fds[i] = -1;
	h->stats.channels--;
}

/* A channel failed (dialling or sending): no dialling for a while, one warning. */
static void handoff_failed(struct handoff *h, int err)
{
	h->last_err = err;
	h->redial_at = h->clock(h->clock_arg) + HANDOFF_REDIAL_MS;
	if (h->failing)
		return;
	h->failing = true;
	log_warnx("handoff to %s failed: %s; connections %s", h->sun.sun_path, strerror(-err),
		  h->gateways ? "go to the TCP gateways" : "are reset");
}

static void handoff_working(struct handoff *h)
{
	if (!h->failing)
		return;
	h->failing = false;
	log_info("handoff to %s works again: connections go to the gateway on this host",
		 h->sun.sun_path);
}

static void handoff_full(struct handoff *h)
{
	uint64_t now = h->clock(h->clock_arg);

	if (h->full_warned && now - h->full_warned < HANDOFF_FULL_WARN_MS)
		return;
	h->full_warned = now;
	log_warnx("handoff to %s: every channel is full (the gateway is behind); connections %s",
		  h->sun.sun_path, h->gateways ? "go to the TCP gateways" : "are reset");
}

/* One message: the request as payload, cfd as its only descriptor. Returns 0 or -errno. */
static int handoff_sendmsg(int fd, const uint8_t *req, size_t len, int cfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)req, .iov_len = len};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &cfd, sizeof(int));
	if (sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/* Channel i open, dialling it when allowed. Returns 0 or -errno. */
static int handoff_chan(struct handoff *h, unsigned i)
{
	int err;

	if (h->fds[i] >= 0)
		return 0;
	if (h->redial_at && h->clock(h->clock_arg) < h->redial_at)
		return h->last_err;
	err = handoff_dial(h, &h->fds[i]);
	if (err)
		handoff_failed(h, err);
	return err;
}

int handoff_send(struct handoff *h, int cfd, const struct socks5_addr *target)
{
	uint8_t req[SOCKS5_REQUEST_MAX];
	int len = socks5_build_request(req, SOCKS5_CMD_CONNECT, target);
	bool full = false;
	int err = len < 0 ? len : -ENOTCONN;

	/* Every channel once at most, from the next one round robin. */
	for (unsigned k = 0; len > 0 && k < h->nchan; k++) {
		unsigned i = h->next;

		h->next = (h->next + 1) % h->nchan;
		err = handoff_chan(h, i);
		if (err)
			continue;
		err = handoff_sendmsg(h->fds[i], req, (size_t)len, cfd);
		if (!err) {
			handoff_working(h);
			h->stats.handed_off++;
			return 0;
		}
		/* Full, or too many descriptors in flight (ETOOMANYREFS): the channel is fine. */
		if (err == -EAGAIN || err == -ENOBUFS || err == -ETOOMANYREFS) {
			full = true;
			continue;
		}
		/* The gateway went away (EPIPE, ECONNRESET): this channel is done. */
		handoff_close(h, i);
		handoff_failed(h, err);
	}
	h->stats.fallback++;
	if (full) {
		handoff_full(h);
		return -EAGAIN;
	}
	return err;
}

int handoff_new(struct handoff **out, struct ev_loop *loop, const char *path)
{
	struct handoff *h;
	size_t n = strlen(path);

	if (!n || n >= sizeof(h->sun.sun_path))
		return -ENAMETOOLONG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->sun.sun_family = AF_UNIX;
	memcpy(h->sun.sun_path, path, n + 1);
	h->sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	h->nchan = handoff_nchan();
	for (unsigned i = 0; i < HANDOFF_MAX_CHANNELS; i++)
		h->fds[i] = -1;
	h->clock = handoff_loop_clock;
	h->clock_arg = loop;
	h->gateways = true;
	/* One channel now, so that status says at once whether the gateway is there; a gateway
	 * that starts later is dialled at the first connection (and warned about then). */
	handoff_dial(h, &h->fds[0]);
	*out = h;
	return 0;
}

void handoff_free(struct handoff *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < HANDOFF_MAX_CHANNELS; i++)
		if (h->fds[i] >= 0)
			close(h->fds[i]);
	free(h);
}

void handoff_set_fallback(struct handoff *h, bool gateways)
{
	h->gateways = gateways;
}

void handoff_get_stats(const struct handoff *h, struct handoff_stats *out)
{
	*out = h->stats;
	out->up = h->stats.channels > 0 && !h->failing;
}

const char *handoff_path(const struct handoff *h)
{
	return h->sun.sun_path;
}

void handoff_set_clock(struct handoff *h, handoff_clock_fn *fn, void *arg)
{
	h->clock = fn;
	h->clock_arg = arg;
}
