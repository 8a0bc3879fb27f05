/* handoff.h — passes redirected connections to a gateway on this host over its Unix socket. */
#ifndef S46_AGENT_HANDOFF_H
#define S46_AGENT_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>

/* Channels open at most, one per online CPU up to this. */
#define HANDOFF_MAX_CHANNELS 8
/* A channel that failed is dialled again no sooner than this. */
#define HANDOFF_REDIAL_MS 1000
/* Send buffer asked for per channel (best effort: net.core.wmem_max caps it). */
#define HANDOFF_SNDBUF (1 << 20)

struct ev_loop;
struct socks5_addr;
struct handoff;

struct handoff_stats {
	unsigned long long handed_off; /* the gateway took the program's socket */
	unsigned long long fallback;   /* could not be handed off: TCP gateways, or reset */
	unsigned channels;	       /* open now */
	bool up;		       /* a channel is open and the last send did not fail */
};

/* Channels to the gateway listening at path (--handoff), dialled when first needed; a gateway
 * that is not there yet is fine. Returns 0 or -errno. */
int handoff_new(struct handoff **out, struct ev_loop *loop, const char *path);
void handoff_free(struct handoff *h);

/* Whether connections that cannot be handed off go to TCP gateways (true) or are reset:
 * only what the warning says. */
void handoff_set_fallback(struct handoff *h, bool gateways);

/*
 * One message carrying the SOCKS5 CONNECT request for target and the descriptor cfd
 * (SCM_RIGHTS). Returns 0 when the gateway has it (the caller closes its own copy, without
 * SO_LINGER: the gateway's copy keeps the connection open), or -errno: the caller keeps the
 * connection and falls back. Counts both outcomes.
 */
int handoff_send(struct handoff *h, int cfd, const struct socks5_addr *target);

void handoff_get_stats(const struct handoff *h, struct handoff_stats *out);
const char *handoff_path(const struct handoff *h);

/* The clock the re-dial limit reads, in milliseconds (default: the loop's ev_now). */
typedef uint64_t handoff_clock_fn(void *arg);
void handoff_set_clock(struct handoff *h, handoff_clock_fn *fn, void *arg);

#endif
