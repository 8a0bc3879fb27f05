/* resolv.h — asynchronous A + AAAA resolution with c-ares on an ev loop, with a TTL cache. */
#ifndef S46_RESOLV_H
#define S46_RESOLV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ev.h"

/* Addresses kept per name and family. */
#define RESOLV_MAX_ADDRS 16

struct resolv_opts {
	const char *resolv_conf; /* NULL: the system's /etc/resolv.conf */
	const char *dns_server;	 /* "ADDR[:PORT]" list, comma separated; overrides resolv_conf */
	uint32_t mark;		 /* SO_MARK for the DNS sockets, 0 = none */
	unsigned timeout_ms;	 /* per try; 0 = c-ares default */
	unsigned tries;		 /* 0 = c-ares default */
	unsigned cache_max;	 /* entries; 0 = no cache */
	unsigned negative_ttl_s; /* how long "no such name" is remembered */
};

struct resolv;
struct resolv_query;

/*
 * Called once per family (AF_INET6 and AF_INET, in the order answers arrive).
 * err is 0 with n >= 1 addresses (port 0), or a positive errno: ENOENT (no
 * such name), ENODATA (no address of this family), EHOSTUNREACH (the DNS
 * servers failed or timed out), ECANCELED (resolver shut down). remaining is
 * the number of families still to come; at 0 the query is gone.
 */
typedef void resolv_cb(void *arg, int family, int err, const struct sockaddr_storage *addrs,
		       size_t n, int remaining);

/* One resolver per event-loop thread. Returns 0 or -errno. */
int resolv_new(struct resolv **out, struct ev_loop *loop, const struct resolv_opts *opts);
void resolv_free(struct resolv *r);

/* Starts resolving name (A and AAAA at once). Returns NULL on -ENOMEM. */
struct resolv_query *resolv_lookup(struct resolv *r, const char *name, resolv_cb *cb, void *arg);
/* The reverse (PTR) lookup: called once with the name, or err as for resolv_cb and NULL. */
typedef void resolv_ptr_cb(void *arg, int err, const char *name);
/* Starts a PTR lookup of sa's address (IPv4 or IPv6). Returns NULL on -ENOMEM/-EAFNOSUPPORT. */
struct resolv_query *resolv_reverse(struct resolv *r, const struct sockaddr *sa, resolv_ptr_cb *cb,
				    void *arg);

/* No callback follows; valid until the callback reported remaining == 0 (or the PTR answer). */
void resolv_cancel(struct resolv_query *q);

/* Maps a c-ares status to the errno used in resolv_cb. */
int resolv_errno(int ares_status);

#endif
