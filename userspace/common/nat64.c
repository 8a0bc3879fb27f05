/* nat64.c — RFC 6052 address math: which bytes of an IPv6 address carry the IPv4 address. */
#include "nat64.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

/* Byte 8 (bits 64..71) is the u octet, always zero; the IPv4 address fills the bytes from
 * len/8 on, skipping it. */
#define NAT64_U 8

static bool nat64_len_ok(unsigned len)
{
	return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

int nat64_prefix_parse(const char *s, struct prefix *p)
{
	if (prefix_parse(s, PREFIX_NEED_LEN | PREFIX_EXACT, p) < 0 || p->af != AF_INET6 ||
	    !nat64_len_ok(p->len) || p->addr[NAT64_U])
		return -EINVAL;
	return 0;
}

/* The byte of the address holding byte i of the IPv4 address under a prefix of len bits. */
static unsigned nat64_pos(unsigned len, unsigned i)
{
	unsigned pos = len / 8 + i;

	return len < 96 && pos >= NAT64_U ? pos + 1 : pos;
}

void nat64_embed(const struct prefix *p, const uint8_t v4[4], uint8_t out[16])
{
	memset(out, 0, 16);
	memcpy(out, p->addr, p->len / 8);
	for (unsigned i = 0; i < 4; i++)
		out[nat64_pos(p->len, i)] = v4[i];
}

bool nat64_extract(const struct prefix *p, const uint8_t a6[16], uint8_t v4[4])
{
	if (p->af != AF_INET6 || !nat64_len_ok(p->len) || !prefix_bits_equal(a6, p->addr, p->len) ||
	    a6[NAT64_U])
		return false;
	for (unsigned i = 0; i < 4; i++)
		v4[i] = a6[nat64_pos(p->len, i)];
	return true;
}

bool nat64_find(const struct prefix *list, unsigned n, const uint8_t a6[16], uint8_t v4[4])
{
	for (unsigned i = 0; i < n; i++)
		if (nat64_extract(&list[i], a6, v4))
			return true;
	return false;
}
