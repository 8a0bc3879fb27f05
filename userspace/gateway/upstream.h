/* upstream.h — chained relay (RFC 3089 section 4): upstream servers, route rules, health. */
#ifndef S46_UPSTREAM_H
#define S46_UPSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5.h"

/*
 * Config lines (also --upstream '...' and --route '...'):
 *
 *   upstream NAME HOST:PORT [user USER password-file FILE]
 *   route [to CIDR|.SUFFIX|NAME|*] [port N|N-M] via NAME[,NAME...]
 *   route [to CIDR|.SUFFIX|NAME|*] [port N|N-M] direct
 *
 * HOST is an IP literal ([v6]:port) or a name this gateway resolves. Routes
 * are tried in order, the first match decides, no match is direct. `to CIDR`
 * matches address requests only, `.SUFFIX` (the name and every name below
 * it) and NAME match name requests only: names are never resolved for
 * routing, they travel upstream as they came. An upstream must be defined
 * before a route names it.
 */

#define UPSTREAM_MAX_VIA 8

struct upstream {
	char *name;
	char *host;		      /* a name to resolve, or NULL when addr is set */
	struct sockaddr_storage addr; /* IP literal, port set; family 0 with host */
	uint16_t port;
	char *user; /* NULL: method 0x00 */
	char *pass;
	/* Health, shared by every worker: consecutive failures, and bad until (ev ms). */
	atomic_uint fails;
	atomic_uint_fast64_t bad_until;
};

struct upstream_route;
struct upstream_table;

struct upstream_table *upstream_table_new(void);
void upstream_table_free(struct upstream_table *t);

/* Parses the text after `upstream`. Returns 0 or -EINVAL/-ENOMEM with err set. */
int upstream_add(struct upstream_table *t, const char *text, char *err, size_t errlen);
/* Parses the text after `route`. Returns 0 or -EINVAL/-ENOMEM with err set. */
int upstream_add_route(struct upstream_table *t, const char *text, char *err, size_t errlen);

/*
 * The first route matching dst (after socks5_addr_unliteral), or NULL for
 * direct (no match, or a matching `direct` route). t may be NULL.
 */
const struct upstream_route *upstream_match(const struct upstream_table *t,
					    const struct socks5_addr *dst);

/*
 * The next upstream of route to try at time now (ms), skipping the indices in
 * *tried (a bit per position, updated) and upstreams marked bad while a good
 * one is left; when every untried one is bad they are used in order anyway.
 * NULL when all were tried.
 */
struct upstream *upstream_next(const struct upstream_route *r, uint64_t now, unsigned *tried);

/* How many upstreams the route names (`via a,b` is 2). */
unsigned upstream_route_count(const struct upstream_route *r);

/* A finished attempt: ok resets the failure count; fail_limit failures in a row mark it bad. */
void upstream_report(struct upstream *u, bool ok, uint64_t now, unsigned fail_limit,
		     unsigned bad_ms);
bool upstream_is_bad(struct upstream *u, uint64_t now);

#endif
