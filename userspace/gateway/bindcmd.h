/* bindcmd.h — the SOCKS5 BIND command: a listening port for one expected incoming connection. */
#ifndef S46_BINDCMD_H
#define S46_BINDCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ev.h"
#include "resolv.h"
#include "socks5.h"

#define BINDCMD_MAX_PEERS (2 * RESOLV_MAX_ADDRS)

/* Who may connect in: DST.ADDR's addresses (a name's, every one), or anyone. */
struct bindcmd_allow {
	bool any;
	unsigned n;
	struct sockaddr_storage addr[BINDCMD_MAX_PEERS]; /* ports ignored, never v4-mapped */
};

/* True when peer's address (v4-mapped counts as IPv4) is allowed; ports are not compared. */
bool bindcmd_allowed(const struct bindcmd_allow *a, const struct sockaddr *peer);
/* Adds an address (unmapped); -ENOSPC when full. */
int bindcmd_allow_add(struct bindcmd_allow *a, const struct sockaddr *sa);
/* True for 0.0.0.0 and ::, the "any host" DST.ADDR. */
bool bindcmd_is_any(const struct socks5_addr *dst);

/*
 * The local address the kernel would use as source toward dst (a connected UDP
 * socket's name), port 0. Returns 0 or -errno (-ENETUNREACH: no route).
 */
int bindcmd_source(const struct sockaddr *dst, struct sockaddr_storage *out);

struct bindcmd;

/*
 * First call (final false): listening, addr is the address to announce. Second
 * call (final true): fd is the accepted connection, addr its peer; or fd -1 and
 * err > 0 when it failed (then it may also be the first call). The bindcmd is
 * gone after a final call.
 */
typedef void bindcmd_cb(void *arg, int fd, int err, const struct sockaddr *addr, bool final);

struct bindcmd_opts {
	int prefer; /* AF_INET6 or AF_INET: the family to listen on for a name */
	const struct sockaddr *ctl_local; /* where the client's connection arrived (all-zero DST) */
	/* Optional, as in happy_opts: a positive errno drops an address of DST. */
	int (*filter)(void *arg, const struct sockaddr *sa);
	void *filter_arg;
};

/* Starts BIND for dst (a name is resolved first). Returns 0, or -errno (and *out NULL). */
int bindcmd_start(struct bindcmd **out, struct ev_loop *loop, struct resolv *res,
		  const struct bindcmd_opts *o, const struct socks5_addr *dst, bindcmd_cb *cb,
		  void *arg);
/* Stops it without a callback and closes its sockets. */
void bindcmd_cancel(struct bindcmd *b);

#endif
