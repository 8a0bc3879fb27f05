/* s46_fast.h — the ABI between the fast path's sk_skb program and the agent: its map values. */
#ifndef S46_FAST_H
#define S46_FAST_H

#include <linux/types.h>

/* Sockets the fast path can hold at once: two per connection. */
#define S46_FAST_MAX_SOCKS 65536

/* s46_fast_pairs, keyed by a socket's cookie (SO_COOKIE): where its received bytes go. */
struct s46_fast_val {
	__u64 peer;  /* cookie of the other socket of the connection, its key in s46_fast_socks */
	__u64 bytes; /* bytes received on this socket and sent on to the peer (status, EOF) */
	__u64 held;  /* bytes that could not go (the peer was not in s46_fast_socks): they stay
		      * on this socket out of order, so the agent resets the connection */
};

#endif
