/* handoffd.c — the local handoff: an agent on this host passes each redirected connection itself,
 * with its SOCKS5 request, over a Unix socket. */
#include "handoffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "gateway.h"
#include "log.h"
#include "netutil.h"
#include "session.h"
#include "socks5.h"

/* Messages taken from one channel per wakeup: a burst of connects does not starve the
 * relays of the same loop. */
#define HANDOFFD_BATCH 64
/* One request (at most 262 bytes) and room to notice a longer, wrong message. */
#define HANDOFFD_MSG_MAX 512
/* Descriptors one message may carry before it is truncated: more than one is an error. */
#define HANDOFFD_MAX_FDS 4

/* One agent's channel, served by the worker that accepted it. */
struct handoffd_chan {
	struct worker *w;
	int fd;
	struct list_head link; /* in the worker's handoff_chans */
};

int handoffd_listen(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket of an earlier run; anything else at that path is not ours to remove. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	/* Anyone may connect (the agent runs as root without CAP_DAC_OVERRIDE, the gateway as its
	 * own user): SO_PEERCRED decides who may hand connections over. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 64) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void handoffd_chan_close(struct handoffd_chan *c)
{
	ev_io_del(c->w->loop, c->fd);
	close(c->fd);
	list_del(&c->link);
	free(c);
}

/* The program's connection cannot be served: it gets a reset, not a FIN that looks like an
 * empty answer. */
static void handoffd_reset(int fd)
{
	netutil_reset_on_close(fd, true);
	close(fd);
}

/* Takes the one descriptor of msg; extra ones are closed. -1: none. */
static int handoffd_take_fd(struct msghdr *msg)
{
	int fd = -1;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;
		int fds[HANDOFFD_MAX_FDS];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (fd < 0)
				fd = fds[i];
			else
				handoffd_reset(fds[i]);
		}
	}
	return fd;
}

/* One handed-over connection: its request must be one whole CONNECT, nothing more. */
static void handoffd_one(struct worker *w, int fd, const uint8_t *buf, size_t len)
{
	struct socks5_request req;
	struct sockaddr_storage peer = {0};
	socklen_t plen = sizeof(peer);
	int n = socks5_parse_request(buf, len, &req, NULL);
	char who[ADDR_STRLEN];

	if (n <= 0 || (size_t)n != len || req.cmd != SOCKS5_CMD_CONNECT) {
		log_warnx("handoff: a message that is not one SOCKS5 CONNECT request (%zu bytes); "
			  "connection reset",
			  len);
		handoffd_reset(fd);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 ||
	    (peer.ss_family != AF_INET && peer.ss_family != AF_INET6)) {
		log_warnx("handoff: the descriptor is not a connected TCP socket; closed");
		handoffd_reset(fd);
		return;
	}
	addr_unmap(&peer);
	if (worker_full(w)) {
		log_warnx("conn client=%s result=\"descriptor share full\" (handoff)",
			  addr_format((struct sockaddr *)&peer, who, sizeof(who)));
		handoffd_reset(fd);
		return;
	}
	/* The agent accepted it non-blocking already (the flag is the open file's, shared with
	 * its copy); set once more rather than trusted, a blocking socket would stall the
	 * worker. A socket has no other status flag worth keeping. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	session_new_handoff(w, fd, (struct sockaddr *)&peer, buf, len);
}

/* Reads one message; returns 1 to go on, 0 when the channel is empty, -1 when it is gone. */
static int handoffd_recv(struct handoffd_chan *c)
{
	uint8_t buf[HANDOFFD_MSG_MAX];
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(HANDOFFD_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.space,
			     .msg_controllen = sizeof(ctl.space)};
	ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	fd = handoffd_take_fd(&msg);
	if (fd < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		log_warnx("handoff: a message without exactly one descriptor or too long; dropped");
		if (fd >= 0)
			handoffd_reset(fd);
		return 1;
	}
	handoffd_one(c->w, fd, buf, (size_t)n);
	return 1;
}

static void handoffd_chan_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct handoffd_chan *c = arg;

	for (int i = 0; i < HANDOFFD_BATCH; i++) {
		int r = handoffd_recv(c);

		if (r == 0)
			return;
		if (r < 0) {
			log_info("handoff: an agent closed its channel");
			handoffd_chan_close(c);
			return;
		}
	}
}

/* Root, or the gateway's own user: anyone else could make the gateway connect for it. */
static bool handoffd_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void handoffd_accept_cb(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct worker *w = arg;
	struct handoffd_chan *c;
	int fd;

	/* Shared by every worker: whoever wakes first takes the channel, the rest see EAGAIN. */
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (!handoffd_peer_ok(fd)) {
			log_warnx(
			    "handoff: a channel from a user other than root or the gateway's; "
			    "closed");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || ev_io_add(loop, fd, EV_READ, handoffd_chan_cb, c) < 0) {
			log_warnx("handoff: out of memory for a channel; closed");
			free(c);
			close(fd);
			continue;
		}
		c->w = w;
		c->fd = fd;
		list_add(&c->link, &w->handoff_chans);
		log_debug("worker %u: handoff channel open", w->id);
	}
}

int handoffd_worker_start(struct worker *w, int lfd)
{
	int err;

	if (lfd < 0)
		return 0;
	err = ev_io_add(w->loop, lfd, EV_READ, handoffd_accept_cb, w);
	if (!err)
		w->handoff_fd = lfd;
	return err;
}

void handoffd_worker_stop(struct worker *w)
{
	if (w->handoff_fd >= 0)
		ev_io_del(w->loop, w->handoff_fd);
	w->handoff_fd = -1;
	while (!list_empty(&w->handoff_chans))
		handoffd_chan_close(
		    list_first_entry(&w->handoff_chans, struct handoffd_chan, link));
}
