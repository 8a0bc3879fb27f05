/* target.h — what the gateway is asked for when a program sends to an address (every forwarding
 * path). */
#ifndef S46_TARGET_H
#define S46_TARGET_H

#include <stdbool.h>
#include <sys/socket.h>

#include "prefix.h"

#define TARGET_MAX_NAT64 16

struct fakeip;
struct fakeip_config;
struct socks5_addr;

/* Agent options that map onto target_config:
 *   --literal-suffix SUFFIX  literal_suffix (LITERAL_SUFFIX_DEFAULT; "none": NULL)
 *   --nat64-prefix PREFIX    nat64, repeatable (nat64_prefix_parse()) */
struct target_config {
	const char *literal_suffix; /* names under it carry an IPv6 address; NULL: none do */
	struct prefix nat64[TARGET_MAX_NAT64]; /* RFC 6052 prefixes whose addresses embed IPv4 */
	unsigned nnat64;
};

/*
 * The destination the gateway is asked for when a program sent to sa (port included):
 * - an address of the fake pools: the name behind it (DOMAINNAME), or, when that name is an
 *   IPv6-literal pseudo-name under literal_suffix, the IPv6 address it carries;
 * - an address under a NAT64 prefix: the IPv4 address it embeds;
 * - a v4-mapped address: that IPv4 address; anything else: the address itself.
 * *fake tells whether sa is a fake address (held by the caller while in use). Returns 0,
 * -ENOENT for a fake address no name is behind, -EINVAL for a pseudo-name with a zone (it
 * names an interface of this host, which the gateway cannot reach), or -errno.
 */
int target_of(const struct target_config *tc, struct fakeip *table,
	      const struct fakeip_config *fcfg, const struct sockaddr *sa, struct socks5_addr *out,
	      bool *fake);

#endif
