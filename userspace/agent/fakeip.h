/* fakeip.h — the fake-IP table: names ↔ addresses from the reserved pools, LRU reuse, persistence.
 */
#ifndef S46_FAKEIP_H
#define S46_FAKEIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev.h"

struct fakeip_config {
	struct in_addr pool4;	/* default 198.18.0.0 */
	unsigned prefix4;	/* default 15 */
	struct in6_addr pool6;	/* default 2001:2:: */
	unsigned prefix6;	/* default 48 */
	unsigned ttl_s;		/* how long an unused entry is kept; also the DNS answer TTL */
	const char *state_path; /* table kept here across restarts; NULL = not persisted */
	unsigned max_entries;	/* per family, below the pool size; 0 = FAKEIP_MAX_ENTRIES */
};

#define FAKEIP_MAX_ENTRIES (1u << 18)
#define FAKEIP_DEFAULT_TTL 300
#define FAKEIP_STATE_PATH "/var/lib/socks46/fakeip.state"
/* Soon enough that mappings applications cached survive a crash, late enough to batch them. */
#define FAKEIP_SAVE_DELAY_MS 1000

/* Sets pool4 or pool6 from "198.18.0.0/15" or "2001:2::/48" (host bits must be zero;
 * multicast and prefixes that leave fewer than 2 addresses are refused). 0 or -EINVAL.
 * Agent options that map onto fakeip_config, for its option table:
 *   --fake-pool4 CIDR   fakeip_config_set_pool()
 *   --fake-pool6 CIDR   fakeip_config_set_pool()
 *   --fake-ttl SECONDS  fakeip_config_set_ttl() (also the DNS answer TTL)
 *   --fake-state FILE   state_path ("none" = not persisted) */
int fakeip_config_set_pool(struct fakeip_config *cfg, const char *cidr);
/* Parses a TTL in seconds, 1..604800. 0 or -EINVAL. */
int fakeip_config_set_ttl(struct fakeip_config *cfg, const char *s);

struct fakeip;

void fakeip_config_default(struct fakeip_config *cfg);
/* Opens the table and loads state_path if it exists. Returns 0 or -errno. */
int fakeip_open(struct fakeip **out, const struct fakeip_config *cfg);
/* Saves (if persisted) and frees. NULL is fine. */
void fakeip_close(struct fakeip *t);
/* From now on a new or replaced mapping is saved FAKEIP_SAVE_DELAY_MS later by a timer on
 * loop, which must outlive the table. This module is the only writer of state_path. */
void fakeip_autosave(struct fakeip *t, struct ev_loop *loop);
/* Saves now, if a mapping was added or replaced since the last save. 0 or -errno. */
int fakeip_flush(struct fakeip *t);
const struct fakeip_config *fakeip_get_config(const struct fakeip *t);

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

struct fakeip_stats {
	size_t entries4, entries6, held;
	unsigned long long allocated, reused, exhausted;
};
void fakeip_get_stats(const struct fakeip *t, struct fakeip_stats *out);

#endif
