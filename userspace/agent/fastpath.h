/* fastpath.h — the opt-in kernel fast path: sockmap moves a connection's bytes after the handshake.
 */
#ifndef S46_FASTPATH_H
#define S46_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "relay.h"

/* A pair whose EOF waits this long without its bytes moving on is reset (never truncated). */
#define FASTPATH_STALL_MS 60000
/* How often a pair with an EOF to pass on looks whether the bytes before it left. */
#define FASTPATH_DRAIN_MS 2

struct fastpath;
struct fastpath_pair;

/*
 * Loads the sk_skb program, attaches it to its socket map, and proves it with a real transfer
 * over a loopback pair (pending bytes, both ways, the FIN seen). On a kernel that lacks what it
 * needs or fails the transfer, why gets one line and nothing stays loaded. Returns 0 or -errno.
 */
int fastpath_new(struct fastpath **out, char *why, size_t len);
void fastpath_free(struct fastpath *fp);

/* Called once, from the loop, like relay_done_cb: the owner closes both fds there. */
typedef void fastpath_done_cb(struct fastpath_pair *p, enum relay_result res, int err, void *arg);

/* Embedded in the owner's struct. Index i is fd[i]; bytes received on fd[i] leave on fd[1-i]. */
struct fastpath_pair {
	struct fastpath *fp;
	struct ev_loop *loop;
	int fd[2];
	uint64_t cookie[2];   /* SO_COOKIE: the keys of both maps */
	uint64_t base[2];     /* bytes fd[i] had taken to send (acked + queued) before the pair */
	uint64_t seen[2];     /* what fd[i] had taken at the last look, while an EOF waits */
	uint64_t moved_ms;    /* loop time that count last grew */
	uint8_t eof[2];	      /* fd[i] read the peer's FIN */
	uint8_t shut[2];      /* fd[i]'s FIN passed on: shutdown(fd[1-i], SHUT_WR) */
	uint8_t reg[2];	      /* fd[i] is registered with the loop */
	struct ev_timer wait; /* an EOF waits for the bytes before it to leave */
	fastpath_done_cb *done;
	void *arg;
};

/*
 * Moves the bytes of connected sockets a and b in the kernel from now on. Bytes either socket
 * received and nobody read yet go first. The caller has sent whatever it read itself. Returns
 * 0 or -errno; on failure nothing is registered. -ENOSPC (S46_FAST_MAX_SOCKS sockets on the
 * fast path already) leaves both sockets as they were, for the relay; after another error
 * bytes may have moved out of order, and the connection must be reset.
 */
int fastpath_start(struct fastpath_pair *p, struct fastpath *fp, struct ev_loop *loop, int a, int b,
		   fastpath_done_cb *done, void *arg);
/* Unregisters and unpairs without calling done; the fds stay open. */
void fastpath_stop(struct fastpath_pair *p);
/* Bytes received on fd[i] and sent on by the kernel so far. */
uint64_t fastpath_bytes(const struct fastpath_pair *p, int i);

#endif
