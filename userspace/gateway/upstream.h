/* upstream.h — chained relay (RFC 3089 section 4): upstream servers, route rules, health. */
#ifndef S46_UPSTREAM_H
#define S46_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5.h"
#include "srvlist.h"

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
 * before a route names it. `to` and `port` are dstmatch.h's grammar, the same
 * as for access rules.
 */

#define UPSTREAM_MAX_VIA 8

struct upstream_route;
struct upstream_table;

int upstream_table_new(struct upstream_table **out);
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

/* The route's upstreams (servers with their shared health), in the order named. */
struct srvlist *upstream_route_via(const struct upstream_route *r);

#endif
