/* udproute.h — the local route that delivers the forwarder's IPv6 slot addresses on lo. */
#ifndef S46_UDPROUTE_H
#define S46_UDPROUTE_H

#include <netinet/in.h>

/* Adds (or replaces) `local NET/LEN dev lo` in the local table of the caller's network
 * namespace (CAP_NET_ADMIN). It stays after the agent exits: with links left pinned, datagrams
 * to those addresses then find no socket and fail, as TCP to the closed proxy port does.
 * Returns 0 or -errno. */
int udproute_add_local6(const struct in6_addr *net, unsigned len);

#endif
