/* listener.c — accepts in batches on a daemon's listening sockets; pauses when descriptors run out.
 */
#include "listener.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LISTENER_BATCH 64

static void listener_resume(struct ev_loop *loop, struct ev_timer *t);

void listener_init(struct listener *l, struct ev_loop *loop, const char *who, listener_cb *cb,
		   void *arg)
{
	memset(l, 0, sizeof(*l));
	l->loop = loop;
	snprintf(l->who, sizeof(l->who), "%s", who);
	l->cb = cb;
	l->arg = arg;
	ev_timer_init(&l->pause, listener_resume);
}

bool listener_shortage(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* A connection that went away before it was taken, or one a firewall refused. */
static bool listener_transient(int err)
{
	return err == ECONNABORTED || err == EINTR || err == EPROTO || err == EPERM;
}

static void listener_io(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct listener *l = arg;

	for (int i = 0; i < LISTENER_BATCH && l->watching && !l->held && !ev_timer_armed(&l->pause);
	     i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			l->cb(l->arg, fd, (struct sockaddr *)&peer);
			continue;
		}
		if (listener_transient(errno))
			continue;
		if (listener_shortage(errno))
			listener_pause(l, errno);
		else if (errno != EAGAIN)
			log_warn("%s: accept", l->who);
		return;
	}
}

static void listener_watch(struct listener *l, unsigned events)
{
	for (unsigned i = 0; i < l->nfds; i++)
		ev_io_mod(l->loop, l->fds[i], events);
}

static void listener_resume(struct ev_loop *loop, struct ev_timer *t)
{
	struct listener *l = container_of(t, struct listener, pause);

	if (l->watching && !l->held)
		listener_watch(l, EV_READ);
}

void listener_pause(struct listener *l, int err)
{
	if (ev_timer_armed(&l->pause))
		return;
	log_warnx("%s: accept: %s; pausing accepts for %d ms", l->who, strerror(err),
		  LISTENER_PAUSE_MS);
	if (l->watching)
		listener_watch(l, 0);
	ev_timer_start(l->loop, &l->pause, LISTENER_PAUSE_MS);
}

void listener_hold(struct listener *l)
{
	if (l->held)
		return;
	l->held = true;
	if (l->watching && !ev_timer_armed(&l->pause))
		listener_watch(l, 0);
}

void listener_release(struct listener *l)
{
	if (!l->held)
		return;
	l->held = false;
	if (l->watching && !ev_timer_armed(&l->pause))
		listener_watch(l, EV_READ);
}

int listener_add(struct listener *l, int fd)
{
	int err;

	err = l->nfds == LISTENER_MAX ? -E2BIG : 0;
	if (!err && l->watching)
		err = ev_io_add(l->loop, fd, EV_READ, listener_io, l);
	if (err) {
		close(fd);
		return err;
	}
	l->fds[l->nfds++] = fd;
	return 0;
}

int listener_start(struct listener *l)
{
	int err;

	for (unsigned i = 0; i < l->nfds; i++) {
		err = ev_io_add(l->loop, l->fds[i], EV_READ, listener_io, l);
		if (err) {
			while (i--)
				ev_io_del(l->loop, l->fds[i]);
			return err;
		}
	}
	l->watching = true;
	return 0;
}

void listener_close(struct listener *l)
{
	if (!l->loop)
		return;
	ev_timer_stop(l->loop, &l->pause);
	for (unsigned i = 0; i < l->nfds; i++) {
		if (l->watching)
			ev_io_del(l->loop, l->fds[i]);
		close(l->fds[i]);
	}
	l->nfds = 0;
	l->watching = false;
}
