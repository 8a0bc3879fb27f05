/* relay.h — a splice()-based bidirectional relay of two connected sockets on an ev loop. */
#ifndef S46_RELAY_H
#define S46_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"

/*
 * A per-thread pool of pipes. A relay borrows a pipe only while bytes are in
 * flight and gives it back once it is empty, so idle connections hold none.
 * When no pipe can be had (the descriptor limit), the bytes a destination did
 * not take wait in memory instead: a relayed connection needs its two sockets
 * and nothing more.
 */
struct relay_pool;

/* Keeps at most max_idle idle pipes. Returns 0 or -ENOMEM. */
int relay_pool_new(struct relay_pool **out, unsigned max_idle);
void relay_pool_free(struct relay_pool *pool);

enum relay_result {
	RELAY_EOF = 0, /* both directions finished with a clean EOF */
	RELAY_IDLE,    /* nothing moved for idle_ms */
	RELAY_ERROR,   /* a read, write or splice failed; err says why */
	RELAY_STOPPED, /* relay_stop() was called (never reported through the callback) */
};

struct relay;
/*
 * Called once, from the loop, when the relay finishes. The relay has already
 * returned its pipes and made the loop forget both fds (without epoll_ctl:
 * the owner must close them inside the callback, and they must not be shared
 * with another descriptor or process); it may free the struct there too. err is a positive errno
 * for RELAY_ERROR, else 0. After RELAY_EOF the second EOF is passed on by the owner's close() (one
 * shutdown() saved), so the owner closes both fds.
 */
typedef void relay_done_cb(struct relay *r, enum relay_result res, int err, void *arg);

struct relay_dir {
	int pipe_rd, pipe_wr; /* -1 while no pipe is borrowed */
	uint32_t in_pipe;     /* bytes spliced in and not yet out */
	uint8_t *mem;	      /* bytes held in memory (initial bytes, or no pipe to be had) */
	uint32_t mem_len, mem_off;
	uint8_t eof : 1;  /* source hit EOF */
	uint8_t shut : 1; /* EOF forwarded with shutdown(SHUT_WR) */
	uint8_t bulk : 1; /* a read filled the copy buffer: splice from now on */
	uint64_t bytes;	  /* bytes delivered to the destination */
};

/* Embedded in the owner's struct: no allocation beyond the initial bytes. */
struct relay {
	struct ev_loop *loop;
	struct relay_pool *pool;
	int fd[2];
	struct relay_dir dir[2]; /* dir[0]: fd[0] → fd[1]; dir[1]: fd[1] → fd[0] */
	uint32_t idle_ms;
	uint64_t last_ms; /* loop time of the last transfer */
	uint8_t reg[2];	  /* events each fd is registered for (0 = not registered) */
	struct ev_timer idle;
	relay_done_cb *done;
	void *arg;
};

/*
 * Starts relaying between connected non-blocking sockets a (fd[0]) and b
 * (fd[1]). The first initial_len bytes of initial are copied and written to b
 * before anything read from a (bytes a client pipelined behind its request).
 * idle_ms 0 disables the idle timeout. Returns 0 or -errno; on failure nothing
 * is registered and the fds are untouched. splice() into a reset socket raises
 * SIGPIPE: a process that relays must ignore it.
 */
int relay_start(struct relay *r, struct ev_loop *loop, struct relay_pool *pool, int a, int b,
		const void *initial, size_t initial_len, uint32_t idle_ms, relay_done_cb *done,
		void *arg);
/* Unregisters both fds and returns the pipes, without calling done; fds stay open. */
void relay_stop(struct relay *r);

/* Bytes delivered a → b and b → a so far. */
static inline uint64_t relay_bytes_ab(const struct relay *r)
{
	return r->dir[0].bytes;
}
static inline uint64_t relay_bytes_ba(const struct relay *r)
{
	return r->dir[1].bytes;
}

const char *relay_result_str(enum relay_result res);

#endif
