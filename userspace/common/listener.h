/* listener.h — accepting connections on listening sockets, with a pause when descriptors run out.
 */
#ifndef S46_LISTENER_H
#define S46_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>

#include "ev.h"

#define LISTENER_MAX 16
/* How long accepting stops when the process is out of descriptors or memory. */
#define LISTENER_PAUSE_MS 100

/* A new connection: fd (non-blocking, close-on-exec) is the callee's; peer is its address. */
typedef void listener_cb(void *arg, int fd, const struct sockaddr *peer);

struct listener {
	struct ev_loop *loop;
	char who[32]; /* for log lines: "worker 0", "proxy" */
	listener_cb *cb;
	void *arg;
	int fds[LISTENER_MAX];
	unsigned nfds;
	bool watching;	       /* the fds are registered with the loop */
	bool held;	       /* listener_hold: the callee cannot take more now */
	struct ev_timer pause; /* armed while accepting is paused */
};

void listener_init(struct listener *l, struct ev_loop *loop, const char *who, listener_cb *cb,
		   void *arg);
/* Takes a listening socket (closed by listener_close, or at once on failure); watched once
 * started. Returns 0 or -errno. */
int listener_add(struct listener *l, int fd);
/* Starts accepting on every socket. Returns 0 or -errno. */
int listener_start(struct listener *l);
/* Stops accepting and closes the sockets; a second call, or one after a zeroed init, is fine. */
void listener_close(struct listener *l);

/* Whether err (an errno) is this process out of descriptors or memory, not the peer's doing. */
bool listener_shortage(int err);
/*
 * Stops accepting for LISTENER_PAUSE_MS: a level-triggered listener whose
 * pending connection cannot be taken would spin. err is logged; while a pause
 * runs, another call does nothing.
 */
void listener_pause(struct listener *l, int err);
/*
 * Stops accepting until listener_release: the callee has no room for another
 * connection (its descriptor reserve, say); pending connections wait in the
 * kernel's backlog instead of being taken and failed. Both are idempotent.
 */
void listener_hold(struct listener *l);
void listener_release(struct listener *l);

#endif
