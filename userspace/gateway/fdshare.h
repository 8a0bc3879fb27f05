/* fdshare.h — the descriptor limit split among the workers: pooled pipes, sessions, a reserve. */
#ifndef S46_FDSHARE_H
#define S46_FDSHARE_H

struct gateway;

/*
 * Idle pipes each of n workers may pool: WORKER_PIPE_POOL, fewer when the
 * descriptor limit is low (pooled pipes are descriptors no session can use).
 */
unsigned fdshare_pipe_pool(unsigned nworkers);

/*
 * After the workers are set up (listeners, resolvers and pools counted as what
 * is open now): gives each worker its max_sessions, what is left of the limit
 * after a reserve, its pools' share and what is open, divided by
 * WORKER_SESSION_FDS, and the gateway its session_cap (the sum). A worker past
 * its share stops accepting only while the process is at its cap (worker_full).
 * Logs the split.
 */
void fdshare_apply(struct gateway *gw, unsigned pipe_pool);

#endif
