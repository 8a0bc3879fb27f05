/* fastpath_int.h — what the fast path's loader, pairs and start-up probe share. */
#ifndef S46_FASTPATH_INT_H
#define S46_FASTPATH_INT_H

#include <stdint.h>

#include "fastpath.h"
#include "s46_fast.h"

struct s46_fast_bpf;

struct fastpath {
	struct s46_fast_bpf *skel;
	int socks_fd, pairs_fd; /* s46_fast_socks, s46_fast_pairs */
};

/* Pairs connected sockets fd[0] and fd[1] in both maps, then runs what they had already
 * received through the program in order. cookie gets their cookies. 0 or -errno; -ENOSPC:
 * the maps are full and nothing moved. */
int fastpath_link(struct fastpath *fp, const int fd[2], uint64_t cookie[2]);
/* Takes the pair out of s46_fast_pairs (closing a socket takes it out of s46_fast_socks). */
void fastpath_unlink(struct fastpath *fp, const uint64_t cookie[2]);
/* The map value of one socket; a missing one reads as zero. */
void fastpath_val(struct fastpath *fp, uint64_t cookie, struct s46_fast_val *v);
/* Makes the program look at fd's receive queue now (bytes queued before it was in the map),
 * and waits for a run already under way (softirq) to end. 0 or -errno. */
int fastpath_kick(int fd);

/* A real transfer over a loopback pair; on failure why gets what went wrong. 0 or -errno. */
int fastpath_probe(struct fastpath *fp, char *why, size_t len);

#endif
