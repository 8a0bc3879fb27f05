/* chain.h — a request sent on through upstream SOCKS5 servers, with failover. */
#ifndef S46_CHAIN_H
#define S46_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5.h"

struct worker;
struct upstream_route;
struct chain;

/*
 * What the chain reports, with every reply to pass to the client: rep and bnd
 * are the upstream's own (bnd NULL when the chain itself failed: no upstream
 * could be reached or completed the handshake; err says why). final is false
 * for the first reply of a BIND. On a final report with rep 0, fd is the
 * connected upstream socket handed to the caller; otherwise fd is -1. peer and
 * upstream name the upstream last tried (NULL if none). The chain is gone after
 * a final report.
 */
struct chain_result {
	int fd;
	uint8_t rep;
	bool final;
	int err;
	const struct socks5_addr *bnd;
	const struct sockaddr *peer;
	const char *upstream;
};

typedef void chain_cb(void *arg, const struct chain_result *res);

/*
 * Sends cmd for dst (names unresolved) through the route's upstreams, the
 * next one after a failure. The worker's snapshot must outlive the chain (the
 * caller holds a reference). Returns 0, or -errno (and *out NULL).
 */
int chain_start(struct chain **out, struct worker *w, const struct upstream_route *rt, uint8_t cmd,
		const struct socks5_addr *dst, chain_cb *cb, void *arg);
/* Stops it without a callback; an upstream that was still being tried counts as failed. */
void chain_cancel(struct chain *c, bool failed);

#endif
