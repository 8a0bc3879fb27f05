/* target.c — the destination sent to the gateway: fake names, IPv6-literal names, NAT64 and mapped
 * addresses. */
#include "target.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "addr.h"
#include "fakeip.h"
#include "literal.h"
#include "nat64.h"
#include "socks5.h"

/* The name behind a fake address, or the IPv6 address a pseudo-name carries. */
static int target_of_name(const struct target_config *tc, const char *name, uint16_t port,
			  struct socks5_addr *out)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	char zone[LITERAL_ZONE_MAX + 1];
	int err = literal_parse(name, tc->literal_suffix, &s6.sin6_addr, zone);

	if (err == -ENOENT)
		return socks5_addr_set_name(out, name, port);
	if (err)
		return err;
	if (zone[0])
		return -EINVAL;
	/* A pseudo-name of a v4-mapped address asks for that IPv4 address. */
	return socks5_addr_from_sockaddr(out, (struct sockaddr *)&s6);
}

int target_of(const struct target_config *tc, struct fakeip *table,
	      const struct fakeip_config *fcfg, const struct sockaddr *sa, struct socks5_addr *out,
	      bool *fake)
{
	uint16_t port = addr_port(sa);
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	char name[256];
	uint8_t a[16];
	int af = prefix_sa_bytes(sa, a), err;

	*fake = false;
	if (!af)
		return -EAFNOSUPPORT;
	if (table && fakeip_in_pool(fcfg, af, a)) {
		err = fakeip_lookup_addr(table, af, a, name, sizeof(name));
		if (err)
			return err;
		*fake = true;
		return target_of_name(tc, name, port, out);
	}
	if (af == AF_INET6 && nat64_find(tc->nat64, tc->nnat64, a, (uint8_t *)&s4.sin_addr))
		return socks5_addr_from_sockaddr(out, (struct sockaddr *)&s4);
	return socks5_addr_from_sockaddr(out, sa);
}
