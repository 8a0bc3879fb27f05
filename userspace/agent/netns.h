/* netns.h — one network namespace the agent serves: its listeners, created inside it. */
#ifndef S46_NETNS_H
#define S46_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdint.h>

struct agent;
struct netns;
struct udpfwd;

/*
 * Serves the network namespace nsfd refers to: enters it, creates the proxy, DNS responder
 * and UDP forwarder listeners (and the forwarder's IPv6 slot route on lo) on the agent's
 * ports, comes back, then adds the namespace to the programs' s46_netns map. Everything the
 * agent dials later (gateways, the real resolver) is dialled from its own namespace. The
 * caller keeps nsfd. Returns 0 or -errno, with one line in err.
 */
int netns_new(struct netns **out, struct agent *a, int nsfd, char *err, size_t errlen);
/* Stops serving: the map entry and unclaimed s46_conn entries go first, then the listeners
 * and live connections (their fake-IP references with them). NULL is fine. */
void netns_free(struct netns *n);

uint64_t netns_cookie(const struct netns *n);
uint32_t netns_inode(const struct netns *n);
/* Its UDP forwarder, NULL when the agent has none. */
struct udpfwd *netns_udpfwd(const struct netns *n);
/* Connections and UDP flows it carries now. */
unsigned netns_conns(struct netns *n);
/* The resolver names that are not faked go to: the first nameserver of the namespace's own
 * /etc/resolv.conf as process pid sees it (asked from inside the namespace), else the
 * agent's. Returns whether it changed. */
bool netns_set_resolver(struct netns *n, int pid);
/* That resolver; *own: the namespace's own. */
const struct sockaddr_storage *netns_resolver(const struct netns *n, bool *own);
/* A reload's suffixes never faked. */
void netns_set_no_fake(struct netns *n, const char *const *no_fake);

#endif
