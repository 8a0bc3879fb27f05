/* prefix.c — parses, masks and matches IPv4 and IPv6 address prefixes for every component. */
#include "prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

void prefix_mask(uint8_t *mask, unsigned bytes, unsigned len)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

bool prefix_bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest));
}

/* Decimal digits only, at most max: a sign, spaces or hex are typos in a prefix length. */
static int prefix_parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* ::ffff:a.b.c.d/LEN (LEN >= 96) is a.b.c.d/(LEN - 96): one prefix, one family. */
static void prefix_unmap(struct prefix *p)
{
	if (p->af != AF_INET6 || p->len < 96 || !IN6_IS_ADDR_V4MAPPED((struct in6_addr *)p->addr))
		return;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
	p->af = AF_INET;
	p->len -= 96;
}

int prefix_parse(const char *s, unsigned flags, struct prefix *p)
{
	char buf[64], *slash;
	uint8_t mask[16];
	unsigned max, bytes;

	memset(p, 0, sizeof(*p));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	else if (flags & PREFIX_NEED_LEN)
		return -EINVAL;
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->af = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->af = AF_INET6;
	else
		return -EINVAL;
	max = p->af == AF_INET ? 32 : 128;
	p->len = max;
	if (slash && prefix_parse_len(slash + 1, max, &p->len) < 0)
		return -EINVAL;
	bytes = max / 8;
	prefix_mask(mask, bytes, p->len);
	for (unsigned i = 0; i < bytes; i++) {
		if ((flags & PREFIX_EXACT) && (p->addr[i] & ~mask[i]))
			return -EINVAL;
		p->addr[i] &= mask[i];
	}
	prefix_unmap(p);
	return 0;
}

int prefix_sa_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(out, &s6->sin6_addr.s6_addr[12], 4);
		return AF_INET;
	}
	memcpy(out, &s6->sin6_addr, 16);
	return AF_INET6;
}

bool prefix_contains(const struct prefix *p, int af, const void *addr)
{
	return p->af && af == p->af && prefix_bits_equal(addr, p->addr, p->len);
}

bool prefix_contains_sa(const struct prefix *p, const struct sockaddr *sa)
{
	uint8_t a[16];
	int af = prefix_sa_bytes(sa, a);

	return prefix_contains(p, af, a);
}
