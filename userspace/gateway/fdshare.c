/* fdshare.c — splits the descriptor limit among the workers so every accepted client is served. */
#include "fdshare.h"

#include <dirent.h>
#include <sys/resource.h>

#include "gateway.h"
#include "log.h"

/*
 * Kept out of every share: a reload reads the configuration and users files,
 * the resolver may fall back to TCP, the authentication threads, a log file.
 */
#define FDSHARE_RESERVE 32

/* The soft limit, or 0 when there is none worth dividing. */
static long fdshare_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (rlim_t)1 << 30)
		return 0;
	return (long)rl.rlim_cur;
}

/* Descriptors open now (the directory's own not counted); -1 when /proc cannot tell. */
static long fdshare_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = -1;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

unsigned fdshare_pipe_pool(unsigned nworkers)
{
	long limit = fdshare_limit(), per;

	if (!limit)
		return WORKER_PIPE_POOL;
	/* At most an eighth of the limit in idle pipes, over all workers. */
	per = limit / 16 / (long)(nworkers ? nworkers : 1);
	return per < WORKER_PIPE_POOL ? (unsigned)per : WORKER_PIPE_POOL;
}

void fdshare_apply(struct gateway *gw, unsigned pipe_pool)
{
	long limit = fdshare_limit(), open = fdshare_open(), left;
	unsigned per;

	if (!limit || open < 0 || !gw->nworkers)
		return;
	/* Each thread may take one session past the process's cap (worker_full). */
	left = limit - open - FDSHARE_RESERVE - (long)gw->nworkers * 2 * pipe_pool -
	       (long)gw->nworkers * WORKER_SESSION_FDS;
	per = left > 0 ? (unsigned)(left / WORKER_SESSION_FDS / (long)gw->nworkers) : 0;
	if (!per) {
		per = 1;
		log_warnx(
		    "descriptor limit %ld leaves no room for sessions (%ld open); serving one "
		    "at a time per thread",
		    limit, open);
	}
	for (unsigned i = 0; i < gw->nworkers; i++)
		gw->workers[i].max_sessions = per;
	gw->session_cap = per * gw->nworkers;
	log_info("descriptor limit %ld: %u sessions per thread (%u threads, %d descriptors each, "
		 "%ld open, %u pooled pipes per thread)",
		 limit, per, gw->nworkers, WORKER_SESSION_FDS, open, pipe_pool);
}
