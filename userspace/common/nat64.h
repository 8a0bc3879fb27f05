/* nat64.h — IPv4-embedded IPv6 addresses (RFC 6052): NAT64 prefixes, embedding and extraction. */
#ifndef S46_NAT64_H
#define S46_NAT64_H

#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"

/* The well-known prefix (RFC 6052 §2.1). */
#define NAT64_WKP "64:ff9b::/96"

/*
 * Parses an IPv6 prefix of length 32, 40, 48, 56, 64 or 96 with its host bits clear and, for
 * /96, bits 64..71 (the "u" octet) zero (RFC 6052 §2.2). A v4-mapped prefix is not one: its
 * addresses are IPv4 already. Returns 0 or -EINVAL.
 */
int nat64_prefix_parse(const char *s, struct prefix *p);

/* The address that embeds v4 (4 bytes) under p, per p's length (RFC 6052 §2.2): the IPv4
 * address split around the u octet, which is zero, as are the suffix bits. */
void nat64_embed(const struct prefix *p, const uint8_t v4[4], uint8_t out[16]);

/* The IPv4 address a6 (16 bytes) embeds when it lies under p and its u octet is zero (the
 * suffix bits are ignored, §2.2). Returns true and fills v4 (4 bytes), else false. */
bool nat64_extract(const struct prefix *p, const uint8_t a6[16], uint8_t v4[4]);

/* The first of n prefixes that a6 lies under with an embedded IPv4 address: true and v4. */
bool nat64_find(const struct prefix *list, unsigned n, const uint8_t a6[16], uint8_t v4[4]);

#endif
