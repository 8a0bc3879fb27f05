/* policy.h — address prefixes: fake pools and real destinations sent through the gateway. */
#ifndef S46_POLICY_H
#define S46_POLICY_H

#include <stdbool.h>

struct policy_prefix {
	int af;			/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address (4 bytes used for AF_INET), host bits cleared */
	unsigned len;		/* prefix length */
};

/* Parses "203.0.113.0/24", "2001:db8::/32" or a bare address (a host prefix).
 * Returns 0 or -EINVAL (junk, prefix too long). Host bits are cleared. */
int policy_parse(const char *s, struct policy_prefix *p);
/* Whether addr (4 or 16 bytes per af) lies inside p. */
bool policy_contains(const struct policy_prefix *p, int af, const void *addr);

#endif
