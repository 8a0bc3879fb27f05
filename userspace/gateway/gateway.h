/* gateway.h — the gateway's shared state: configuration snapshots, worker threads, sessions. */
#ifndef S46_GATEWAY_H
#define S46_GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "authpool.h"
#include "destpolicy.h"
#include "gwconf.h"
#include "ev.h"
#include "happy.h"
#include "list.h"
#include "listener.h"
#include "relay.h"
#include "resolv.h"

/* An immutable configuration + users pair; SIGHUP publishes a new one. */
struct gw_snap {
	atomic_int refs;
	struct gwconf conf;
	struct auth_db *auth; /* NULL: no users file, method 0x00 */
};

int gw_snap_new(struct gw_snap **out);
struct gw_snap *gw_snap_ref(struct gw_snap *s);
void gw_snap_put(struct gw_snap *s);

#define WORKER_CMD_RELOAD 0x1u
#define WORKER_CMD_DRAIN 0x2u
#define WORKER_CMD_AUTH 0x4u /* finished auth jobs are waiting */

struct session;
struct gateway;
struct netmon;

struct worker {
	struct gateway *gw;
	unsigned id;
	pthread_t tid;
	struct ev_loop *loop;
	int efd;		  /* eventfd: the main thread's wakeup */
	atomic_uint cmd;	  /* WORKER_CMD_* bits, set before the eventfd write */
	struct listener listener; /* this thread's SO_REUSEPORT sockets */
	struct destpolicy dpol;	  /* what no client may reach: loops, unspecified, own host */
	bool draining;
	struct ev_timer drain_timer;
	struct gw_snap *snap; /* this thread's current reference */
	struct happy_opts happy;
	struct resolv *res;
	struct netmon *nm; /* the gateway's, shared by its workers; NULL: not followed */
	struct relay_pool *pool;
	struct list_head sessions; /* every live session, for drain and shutdown */
	unsigned nsessions;
	unsigned max_sessions;		/* what its descriptor share serves; 0: no limit */
	uint64_t held_log_ms;		/* when accepting was last logged as held */
	int handoff_fd;			/* the gateway's handoff listener, -1: none */
	struct list_head handoff_chans; /* agents' channels this worker accepted */
	pthread_mutex_t auth_lock;	/* guards auth_done */
	struct auth_job *auth_done;	/* checked by the pool, not yet delivered */
};

struct gateway {
	pthread_mutex_t lock; /* guards snap */
	struct gw_snap *snap;
	atomic_uint nconns;   /* live client connections, all threads */
	unsigned session_cap; /* sessions the descriptor limit serves, all threads; 0: no limit */
	struct worker *workers;
	unsigned nworkers;
	struct authpool *authpool;
	struct netmon *netmon; /* the host's addresses and routes; NULL: every route assumed */
	pid_t *kids; /* --processes: the other gateway processes (only in the first one) */
	unsigned nkids;
	unsigned status_conns; /* the connection count systemd was last told (main thread) */
	int handoff_fd;	       /* --handoff listener, shared by every process and worker; -1 */
	pid_t handoff_pid;     /* the process that made it, the one to remove its path */
};

/* The current snapshot, with a reference the caller puts. */
struct gw_snap *gateway_snap_get(struct gateway *gw);

/*
 * Descriptors counted for one session: the client and the outbound socket,
 * and one more so Happy Eyeballs can race two attempts (BIND's listener, UDP
 * ASSOCIATE's relay socket). A relay holds no pipe it cannot get: it falls
 * back to memory (relay.h), so relayed connections need just their two
 * sockets; the rare fourth (UDP to both families) comes from the reserve.
 */
#define WORKER_SESSION_FDS 3
/* Idle pipes a worker's relay pool keeps at most (two descriptors each). */
#define WORKER_PIPE_POOL 32

int worker_init(struct worker *w, struct gateway *gw, unsigned id, struct gw_snap *snap,
		unsigned pipe_pool);
int worker_start(struct worker *w);
void worker_post(struct worker *w, unsigned cmd);
void worker_join(struct worker *w);
void worker_fini(struct worker *w);
/* From a pool thread: hands a checked job back to its worker. */
void worker_auth_done(struct worker *w, struct auth_job *j);
/* Called by a session when it ends (after it unlinked itself). */
void worker_session_gone(struct worker *w);
/* The thread is past its share and the process has no descriptors left for a session. */
bool worker_full(struct worker *w);

/* Takes over an accepted client socket. Returns 0 or -errno (the fd is then closed). */
int session_new(struct worker *w, int fd, const struct sockaddr *peer);
/* The result of the session's auth job (owner), on the worker's thread. */
void handshake_auth_result(void *owner, bool ok);
/* Ends a session at once (drain timeout, shutdown), logging it. */
void session_abort(struct session *s, const char *why);

#endif
