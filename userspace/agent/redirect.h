/* redirect.h — accepts redirected connections and forwards each through a SOCKS5 gateway. */
#ifndef S46_REDIRECT_H
#define S46_REDIRECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "srvlist.h"
#include "target.h"

#define REDIRECT_MAX_GATEWAYS 16
/* A gateway that failed is tried after the others for this long, by CONNECTs and RESOLVEs. */
#define REDIRECT_GW_BACKOFF_MS 5000

struct ev_loop;
struct srvlist;
struct bpfload;
struct fastpath;
struct handoff;
struct fakeip;
struct fakeip_config;

struct redirect_config {
	struct sockaddr_storage gateways[REDIRECT_MAX_GATEWAYS]; /* tried in this order */
	unsigned ngateways;
	const char *user, *pass;     /* RFC 1929 towards the gateway; NULL = method 0x00 */
	struct srvlist *servers;     /* the gateways with their health (redirect_gateways_new) */
	enum srvlist_policy policy;  /* how connections spread over the gateways */
	unsigned health_ms;	     /* the gateways' health checks run this often, 0: at start */
	uint32_t mark;		     /* SO_MARK of the agent's sockets (never redirected) */
	uint16_t port;		     /* loopback proxy port, host order */
	unsigned connect_ms;	     /* a gateway that has not chosen a method by then is skipped */
	unsigned reply_ms;	     /* the gateway's CONNECT reply must come by then */
	unsigned idle_ms;	     /* relay idle timeout, 0 = none */
	struct target_config target; /* pseudo-names and NAT64 prefixes */
};

struct redirect_stats {
	unsigned long long accepted, forwarded, refused, no_gateway, no_origdst, no_name;
};

/* One live connection, for `status`. */
struct redirect_info {
	const struct sockaddr *client; /* the program's socket (its local address) */
	const struct sockaddr *orig;   /* what it connected to */
	const char *target;	       /* what the gateway was asked for */
	const char *gateway;
	const char *state;
	uint64_t cookie;
	uint32_t pid;
	uint64_t bytes_up, bytes_down, age_ms;
};

struct redirect;

/* The gateways, user and password of cfg as a server list, to set as cfg->servers (or to
 * srvlist_swap into it). Returns 0 or -errno. */
int redirect_gateways_new(struct srvlist **out, const struct redirect_config *cfg);

/* Listens on 127.0.0.1 and ::1 at cfg->port (0: any, read back with redirect_port).
 * b, table, fcfg and cfg->servers stay owned by the caller and must outlive r. Returns 0 or -errno.
 */
int redirect_new(struct redirect **out, struct ev_loop *loop, const struct redirect_config *cfg,
		 struct bpfload *b, uint64_t netns_cookie, struct fakeip *table,
		 const struct fakeip_config *fcfg);
void redirect_free(struct redirect *r);
/* The loaded programs whose s46_conn map tells original destinations (set before attach). */
void redirect_set_bpf(struct redirect *r, struct bpfload *b);
/* Connections relayed from now on go through the kernel's fast path (NULL: the relay). */
void redirect_set_fastpath(struct redirect *r, struct fastpath *fp);
/* Connections accepted from now on are first handed to the gateway on this host (NULL: not);
 * those it cannot take go to the gateways of the configuration. h is shared and outlives r. */
void redirect_set_handoff(struct redirect *r, struct handoff *h);
uint16_t redirect_port(const struct redirect *r);
void redirect_get_stats(const struct redirect *r, struct redirect_stats *out);

typedef void redirect_conn_cb(const struct redirect_info *ci, void *arg);
void redirect_walk(struct redirect *r, redirect_conn_cb *fn, void *arg);
/* One gateway, for `status`. */
struct redirect_gw_info {
	const char *addr;
	bool up;	   /* neither failing recently nor down by its health check */
	unsigned failures; /* failed attempts since the last success */
	unsigned inflight; /* connections relayed through it now */
	uint64_t total;	   /* connections relayed through it */
};

typedef void redirect_gw_cb(const struct redirect_gw_info *gi, void *arg);
void redirect_walk_gateways(struct redirect *r, redirect_gw_cb *fn, void *arg);

#endif
