/* srvlist.h — a list of SOCKS5 servers walked in a policy's order, replaceable at run time. */
#ifndef S46_SRVLIST_H
#define S46_SRVLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "srv.h"

#define SRVLIST_MAX 32

struct srvlist;
struct srvlist_set;

/* In which order a request walks the servers. */
enum srvlist_policy {
	SRVLIST_FAILOVER,    /* the list's order: the first good server takes everything */
	SRVLIST_ROUND_ROBIN, /* each request starts one server further */
	SRVLIST_LEAST_CONNS, /* fewest connections in flight first (ties: round robin) */
	SRVLIST_HASH,	     /* by the request's key (rendezvous hashing): one key, one server */
};

/* "failover", "round-robin", "least-conns" or "hash"; -EINVAL for anything else. */
int srvlist_policy_parse(const char *text, enum srvlist_policy *out);
const char *srvlist_policy_name(enum srvlist_policy p);

int srvlist_new(struct srvlist **out);
/* The order of walks started from now on (default SRVLIST_FAILOVER); srvlist_swap keeps
 * the policy of next. */
void srvlist_set_policy(struct srvlist *l, enum srvlist_policy p);
enum srvlist_policy srvlist_get_policy(const struct srvlist *l);
/* Drops the list; iterations under way keep their servers until they end. NULL is fine. */
void srvlist_free(struct srvlist *l);
/* Appends s (taking a reference of its own). -E2BIG past SRVLIST_MAX. */
int srvlist_add(struct srvlist *l, struct srv *s);
unsigned srvlist_count(const struct srvlist *l);

/*
 * Replaces the servers of l with those of next, and frees next. A server of
 * next that l already had (same place and login) is replaced by the one
 * already held, so its health carries on; one at the same place with another
 * login takes over its health. Iterations under way finish on the servers they
 * started with. Not thread-safe against iterations started concurrently.
 */
void srvlist_swap(struct srvlist *l, struct srvlist *next);

/*
 * One request's walk through the list: the servers not marked bad first, in
 * the policy's order; when every untried one is bad, those in that order
 * anyway. It holds the servers it started with, whatever srvlist_swap does
 * meanwhile.
 */
struct srvlist_iter {
	struct srvlist_set *set;
	uint32_t tried;		    /* a bit per position */
	uint8_t order[SRVLIST_MAX]; /* positions, in the order of the walk */
};

/* A walk started at time now for a request with a key (under SRVLIST_HASH, the destination's
 * name; without a key a hashed list walks round robin). Round robin and least-conns take turns
 * among the servers not bad at now. */
void srvlist_iter_start_key(struct srvlist_iter *it, struct srvlist *l, const char *key,
			    uint64_t now);
/* The same without a key, where only servers down by a health check count as bad. */
void srvlist_iter_start(struct srvlist_iter *it, struct srvlist *l);
/* The next server to try at time now, or NULL when all were tried. */
struct srv *srvlist_next(struct srvlist_iter *it, uint64_t now);
/* Whether a server is left untried. */
bool srvlist_iter_left(const struct srvlist_iter *it);
/* How many servers the walk goes through. */
unsigned srvlist_iter_count(const struct srvlist_iter *it);
/* Releases the servers; a second call does nothing. */
void srvlist_iter_end(struct srvlist_iter *it);

typedef void srvlist_walk_fn(const struct srv *s, void *arg);
/* fn for every server of l, in order. */
void srvlist_walk(const struct srvlist *l, srvlist_walk_fn *fn, void *arg);

#endif
