/* happy.h — Happy Eyeballs v2 (RFC 8305): resolve, interleave families, stagger attempts. */
#ifndef S46_HAPPY_H
#define S46_HAPPY_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ev.h"
#include "resolv.h"

#define HAPPY_MAX_ADDRS (2 * RESOLV_MAX_ADDRS)
#define HAPPY_MAX_INFLIGHT 8

union happy_sa {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

struct happy_opts {
	unsigned attempt_delay_ms;    /* RFC 8305 "Connection Attempt Delay", default 250 */
	unsigned resolution_delay_ms; /* wait this long for the preferred family, default 50 */
	int prefer;		      /* AF_INET6 (default) or AF_INET */
	uint32_t mark;		      /* SO_MARK for outbound sockets, 0 = none */
	/* Attempts in flight at once, 1..HAPPY_MAX_INFLIGHT (0: the maximum): a caller that
	 * budgets descriptors per connection caps them. */
	unsigned max_inflight;
	/* Optional: asked about each address before it is tried; a positive errno drops it
	 * (access rules: EACCES, no route: ENETUNREACH) and is reported if nothing else works. */
	int (*filter)(void *arg, const struct sockaddr *sa);
	void *filter_arg;
};

/* The candidate addresses of one destination, per family, in resolver order. */
struct happy_list {
	union happy_sa v6[RESOLV_MAX_ADDRS], v4[RESOLV_MAX_ADDRS];
	uint8_t n6, n4;	 /* known */
	uint8_t i6, i4;	 /* already handed out */
	int last_family; /* family of the last address handed out, 0 before the first */
};

/*
 * The next address to try: the preferred family first, then alternating
 * families while both have addresses left (RFC 8305 section 4, First Address
 * Family Count 1). Returns NULL when none is left.
 */
const union happy_sa *happy_list_next(struct happy_list *l, int prefer);
/* Appends an address (port already set); returns -ENOSPC when that family is full. */
int happy_list_add(struct happy_list *l, const struct sockaddr *sa);
/* Orders n addresses into out the way attempts would be made; returns the count. */
size_t happy_order(const struct sockaddr_storage *in, size_t n, int prefer,
		   struct sockaddr_storage *out);

struct happy;
/*
 * Called once, always from the loop (never inside happy_start): with a
 * connected non-blocking socket fd (the caller owns it) and the peer it is
 * connected to, or fd -1 and a positive errno (ENOENT etc. from resolution, the
 * most telling connect error otherwise). The happy object is gone afterwards.
 */
typedef void happy_cb(void *arg, int fd, int err, const struct sockaddr *peer);

/*
 * Connects to name:port, or to the literal addr (name NULL) with its port.
 * Returns 0, or -errno (and *out NULL) if nothing could be started.
 */
int happy_start(struct happy **out, struct ev_loop *loop, struct resolv *res,
		const struct happy_opts *opts, const char *name, const struct sockaddr *addr,
		uint16_t port, happy_cb *cb, void *arg);
/* Stops everything and closes all attempt sockets; no callback follows. */
void happy_cancel(struct happy *h);

/* Sets the socket options every outbound socket gets (SO_MARK when mark != 0). */
int happy_socket(int family, uint32_t mark);

#endif
