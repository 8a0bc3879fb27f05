/* worker.c — one thread: event loop, SO_REUSEPORT listeners, resolver, pipes, sessions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "addr.h"
#include "gateway.h"
#include "handoffd.h"
#include "log.h"
#include "netutil.h"
#include "session.h"

#define WORKER_BACKLOG 1024

static void worker_set_happy(struct worker *w)
{
	const struct gwconf *c = &w->snap->conf;

	w->happy.attempt_delay_ms = c->he_delay_ms;
	w->happy.resolution_delay_ms = 50;
	w->happy.prefer = c->prefer;
	w->happy.mark = c->mark;
	/* The client's descriptor is the sixth of the session's share. */
	w->happy.max_inflight = WORKER_SESSION_FDS - 1;
}

static bool worker_over_limit(struct worker *w)
{
	unsigned max = w->snap->conf.max_conns;

	return max && atomic_load(&w->gw->nconns) >= max;
}

/*
 * The descriptor limit is the process's: a thread that drew more clients than its share
 * (SO_REUSEPORT spreads them by hash, not evenly) goes on while the others leave room.
 * Threads that check at once may each take one session more: fdshare keeps that many
 * descriptors aside.
 */
bool worker_full(struct worker *w)
{
	return w->max_sessions && w->nsessions >= w->max_sessions &&
	       atomic_load(&w->gw->nconns) >= w->gw->session_cap;
}

/*
 * No descriptors are left for another session: accepting stops until one of this
 * thread's sessions ends, so that every client taken can still get its outbound
 * connection (the others wait in the kernel's backlog, not failed with "Too many open
 * files").
 */
static void worker_hold(struct worker *w)
{
	uint64_t now = ev_now(w->loop);

	listener_hold(&w->listener);
	if (now - w->held_log_ms < 10000 && w->held_log_ms)
		return;
	w->held_log_ms = now;
	log_warnx("worker %u: %u sessions here, %u in all use the descriptor limit; accepting "
		  "waits until one ends",
		  w->id, w->nsessions, atomic_load(&w->gw->nconns));
}

static void worker_accepted(void *arg, int cfd, const struct sockaddr *peer)
{
	struct worker *w = arg;
	struct sockaddr_storage ss;
	char who[ADDR_STRLEN];

	if (worker_over_limit(w)) {
		log_warnx("conn client=%s result=\"connection limit %u reached\"",
			  addr_format(peer, who, sizeof(who)), w->snap->conf.max_conns);
		close(cfd);
		return;
	}
	memcpy(&ss, peer, addr_sa_len(peer));
	addr_unmap(&ss);
	session_new(w, cfd, (struct sockaddr *)&ss);
	if (worker_full(w))
		worker_hold(w);
}

static void worker_drain_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct worker *w = container_of(t, struct worker, drain_timer);

	while (!list_empty(&w->sessions))
		session_abort(list_first_entry(&w->sessions, struct session, link),
			      "drain timeout");
	ev_stop(loop);
}

static void worker_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	listener_close(&w->listener);
	handoffd_worker_stop(w);
	if (!w->nsessions) {
		ev_stop(w->loop);
		return;
	}
	log_info("worker %u: draining %u connections", w->id, w->nsessions);
	ev_timer_start(w->loop, &w->drain_timer, w->snap->conf.drain_timeout_s * 1000u);
}

static void worker_reload(struct worker *w)
{
	struct gw_snap *old = w->snap;

	w->snap = gateway_snap_get(w->gw);
	gw_snap_put(old);
	worker_set_happy(w);
}

void worker_auth_done(struct worker *w, struct auth_job *j)
{
	pthread_mutex_lock(&w->auth_lock);
	j->next = w->auth_done;
	w->auth_done = j;
	pthread_mutex_unlock(&w->auth_lock);
	worker_post(w, WORKER_CMD_AUTH);
}

static void worker_deliver_auth(struct worker *w)
{
	struct auth_job *j;

	pthread_mutex_lock(&w->auth_lock);
	j = w->auth_done;
	w->auth_done = NULL;
	pthread_mutex_unlock(&w->auth_lock);
	while (j) {
		struct auth_job *next = j->next;

		if (j->owner)
			handshake_auth_result(j->owner, j->ok);
		authpool_job_free(j);
		j = next;
	}
}

static void worker_event_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct worker *w = arg;
	uint64_t v;
	unsigned cmd;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker %u: eventfd", w->id);
	cmd = atomic_exchange(&w->cmd, 0);
	if (cmd & WORKER_CMD_AUTH)
		worker_deliver_auth(w);
	if (cmd & WORKER_CMD_RELOAD)
		worker_reload(w);
	if (cmd & WORKER_CMD_DRAIN)
		worker_drain(w);
}

void worker_session_gone(struct worker *w)
{
	w->nsessions--;
	if (!worker_full(w))
		listener_release(&w->listener);
	if (w->draining && !w->nsessions)
		ev_stop(w->loop);
}

void worker_post(struct worker *w, unsigned cmd)
{
	uint64_t one = 1;

	atomic_fetch_or(&w->cmd, cmd);
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_warn("worker %u: eventfd write", w->id);
}

static int worker_listen(struct worker *w)
{
	const struct gwconf *c = &w->snap->conf;
	char who[ADDR_STRLEN];

	for (unsigned i = 0; i < c->nlisten; i++) {
		int fd = netutil_listen((const struct sockaddr *)&c->listen[i], true,
					c->listen_freebind, WORKER_BACKLOG),
		    err;

		if (fd < 0) {
			log_error(
			    "cannot listen on %s: %s",
			    addr_format((const struct sockaddr *)&c->listen[i], who, sizeof(who)),
			    strerror(-fd));
			return fd;
		}
		netutil_fastopen_listen(fd);
		if (w->id == 0 && netutil_freebound(fd))
			log_warnx(
			    "listening on %s, not an address of this host yet",
			    addr_format((const struct sockaddr *)&c->listen[i], who, sizeof(who)));
		if ((err = listener_add(&w->listener, fd)))
			return err;
	}
	return 0;
}

int worker_init(struct worker *w, struct gateway *gw, unsigned id, struct gw_snap *snap,
		unsigned pipe_pool)
{
	struct resolv_opts ro = {0};
	char who[16];
	int err;

	memset(w, 0, sizeof(*w));
	list_init(&w->sessions);
	list_init(&w->handoff_chans);
	w->handoff_fd = -1;
	pthread_mutex_init(&w->auth_lock, NULL);
	w->gw = gw;
	w->nm = gw->netmon;
	w->id = id;
	w->efd = -1;
	w->snap = gw_snap_ref(snap);
	worker_set_happy(w);
	ev_timer_init(&w->drain_timer, worker_drain_timer_cb);
	if ((err = ev_loop_new(&w->loop)) < 0)
		return err;
	snprintf(who, sizeof(who), "worker %u", id);
	listener_init(&w->listener, w->loop, who, worker_accepted, w);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (relay_pool_new(&w->pool, pipe_pool) || w->efd < 0)
		return -ENOMEM;
	ro.resolv_conf = snap->conf.resolv_conf;
	ro.dns_server = snap->conf.dns_server;
	ro.mark = snap->conf.mark;
	ro.timeout_ms = 2000;
	ro.tries = 2;
	ro.cache_max = 4096;
	ro.negative_ttl_s = 5;
	if ((err = resolv_new(&w->res, w->loop, &ro)) < 0)
		return err;
	if ((err = ev_io_add(w->loop, w->efd, EV_READ, worker_event_cb, w)) < 0)
		return err;
	if ((err = worker_listen(w)) < 0)
		return err;
	if ((err = handoffd_worker_start(w, gw->handoff_fd)) < 0)
		return err;
	return destpolicy_init(&w->dpol, w->listener.fds, w->listener.nfds);
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	int err;

	err = listener_start(&w->listener);
	if (!err)
		err = ev_run(w->loop);
	if (err < 0)
		log_error("worker %u: event loop: %s", w->id, strerror(-err));
	while (!list_empty(&w->sessions))
		session_abort(list_first_entry(&w->sessions, struct session, link), "shutdown");
	return NULL;
}

int worker_start(struct worker *w)
{
	return -pthread_create(&w->tid, NULL, worker_thread, w);
}

void worker_join(struct worker *w)
{
	pthread_join(w->tid, NULL);
}

void worker_fini(struct worker *w)
{
	struct auth_job *j;

	/* Jobs finished after the loop stopped: their sessions are gone. */
	while ((j = w->auth_done)) {
		w->auth_done = j->next;
		authpool_job_free(j);
	}
	pthread_mutex_destroy(&w->auth_lock);
	listener_close(&w->listener);
	handoffd_worker_stop(w);
	resolv_free(w->res);
	relay_pool_free(w->pool);
	if (w->efd >= 0)
		close(w->efd);
	ev_loop_free(w->loop);
	gw_snap_put(w->snap);
	w->snap = NULL;
}
