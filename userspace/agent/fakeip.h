/* fakeip.h — the fake-IP table: names ↔ addresses from the reserved pools, LRU reuse, persistence. */
#ifndef S46_FAKEIP_H
#define S46_FAKEIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fakeip_config {
	struct in_addr pool4;  /* default 198.18.0.0 */
	unsigned prefix4;      /* default 15 */
	struct in6_addr pool6; /* default 2001:2:: */
	unsigned prefix6;      /* default 48 */
	unsigned ttl_s;        /* how long an unused entry is kept; also the DNS answer TTL */
	const char *state_path; /* table kept here across restarts; NULL = not persisted */
};

struct fakeip;

void fakeip_config_default(struct fakeip_config *cfg);
/* Opens the table and loads state_path if it exists. Returns 0 or -errno. */
int fakeip_open(struct fakeip **out, const struct fakeip_config *cfg);
/* Saves (if persisted) and frees. NULL is fine. */
void fakeip_close(struct fakeip *t);
int fakeip_save(struct fakeip *t);

/* The fake address (of family af: AF_INET → 4 bytes, AF_INET6 → 16) for name,
 * allocating one least-recently-used first. now_s is a CLOCK_REALTIME second.
 * Returns 0, or -ENOSPC when every address of the pool is held by a live entry. */
int fakeip_lookup_name(struct fakeip *t, const char *name, int af, void *addr, uint64_t now_s);
/* The name behind a fake address. Returns 0 or -ENOENT. */
int fakeip_lookup_addr(struct fakeip *t, int af, const void *addr, char *name, size_t len);
/* A connection starts or stops using a fake address: held entries are never reused. */
int fakeip_hold(struct fakeip *t, int af, const void *addr, uint64_t now_s);
void fakeip_release(struct fakeip *t, int af, const void *addr, uint64_t now_s);
/* Whether addr lies inside the configured pool of its family. */
bool fakeip_in_pool(const struct fakeip_config *cfg, int af, const void *addr);

/* For `status`: calls fn for every entry. */
typedef void fakeip_walk_cb(const char *name, int af, const void *addr, unsigned refs,
			    uint64_t last_used_s, void *arg);
void fakeip_walk(struct fakeip *t, fakeip_walk_cb *fn, void *arg);

#endif
