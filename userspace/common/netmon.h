/* netmon.h — the host's addresses and routes, dumped at start and followed live over rtnetlink. */
#ifndef S46_NETMON_H
#define S46_NETMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct nlmsghdr;

/* One interface address as rtnetlink reports it (RTM_NEWADDR). */
struct netmon_addr {
	int family;
	int ifindex;
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	uint8_t plen;
	uint8_t scope;	/* RT_SCOPE_* */
	uint32_t flags; /* IFA_F_* */
};

/* One route (RTM_NEWROUTE); only what deciding "is there a route" needs. */
struct netmon_route {
	int family;
	uint32_t table;
	uint8_t type; /* RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, ... */
	uint8_t plen;
	uint8_t dst[16];
	int oif;
	uint32_t priority;
};

/* The state, kept by the monitor thread; exposed for netmon_table_apply's tests. */
struct netmon_table {
	struct netmon_addr *addrs;
	size_t naddrs, caddrs;
	struct netmon_route *routes;
	size_t nroutes, croutes;
};

/*
 * Applies one rtnetlink message (RTM_NEWADDR/DELADDR/NEWROUTE/DELROUTE; other
 * types are ignored) to t. Returns 1 if t changed, 0 if not, -EBADMSG for a
 * malformed message, -ENOMEM.
 */
int netmon_table_apply(struct netmon_table *t, const struct nlmsghdr *nlh);
void netmon_table_clear(struct netmon_table *t);

/* True if some table's longest matching route for dst carries traffic (not blackhole,
 * unreachable, prohibit or throw). */
bool netmon_table_route(const struct netmon_table *t, const struct sockaddr *dst);
/* True if dst is one of t's addresses or inside a local route (the host itself; IPv4-mapped
 * IPv6 is taken as IPv4). */
bool netmon_table_local(const struct netmon_table *t, const struct sockaddr *dst);
/* Usable addresses: global scope, not tentative, deprecated or failing DAD. */
bool netmon_addr_usable(const struct netmon_addr *a);

struct netmon;

/*
 * Dumps the current addresses and routes (so the answers are right from the
 * first call), then follows changes on a thread of its own. Each change is
 * logged at info level. One per process is enough: the gateway starts one and
 * its workers share it. Returns 0 or -errno.
 */
int netmon_new(struct netmon **out);
/* Stops following and frees it. NULL is fine. */
void netmon_free(struct netmon *nm);

/*
 * Queries, safe from any thread; a NULL monitor answers "yes", so callers work
 * without one. netmon_has_route: a connect to dst can leave the host (fail
 * fast instead when not). netmon_family_usable: the family has a usable
 * address and a route beyond the host's own links or loopback (Happy Eyeballs
 * does not wait for a family without one).
 */
bool netmon_has_route(struct netmon *nm, const struct sockaddr *dst);
bool netmon_family_usable(struct netmon *nm, int family);
/* netmon_is_local: dst is an address of this host right now (netmon_table_local); a NULL
 * monitor answers "no". */
bool netmon_is_local(struct netmon *nm, const struct sockaddr *dst);

#endif
