/* prefix.h — IPv4 and IPv6 address prefixes: "ADDR/LEN" parsing, masks, containment. */
#ifndef S46_PREFIX_H
#define S46_PREFIX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct prefix {
	int af;		  /* AF_INET or AF_INET6; 0: no prefix (contains nothing) */
	unsigned len;	  /* prefix length in bits */
	uint8_t addr[16]; /* network address (4 bytes used for AF_INET), host bits cleared */
};

/* prefix_parse flags. */
#define PREFIX_NEED_LEN 0x1u /* "/LEN" is required: a bare address is refused */
#define PREFIX_EXACT 0x2u    /* host bits must be zero: "198.51.100.7/24" is refused */

/*
 * Parses "203.0.113.0/24", "2001:db8::/32" or a bare address (a host prefix),
 * LEN in decimal digits. An IPv4-mapped IPv6 address is an IPv4 prefix (its
 * length less 96) when no length or at least 96 is given. Host bits are
 * cleared (or refused with PREFIX_EXACT). Returns 0 or -EINVAL.
 */
int prefix_parse(const char *s, unsigned flags, struct prefix *p);

/* The address bytes of an AF_INET or AF_INET6 sockaddr into out (16 bytes, zero-padded);
 * returns the family, with v4-mapped IPv6 as AF_INET, or 0 for other families. */
int prefix_sa_bytes(const struct sockaddr *sa, uint8_t out[16]);

/* The netmask of len bits over bytes bytes (network order). */
void prefix_mask(uint8_t *mask, unsigned bytes, unsigned len);
/* Whether the first len bits of a and b are equal. */
bool prefix_bits_equal(const uint8_t *a, const uint8_t *b, unsigned len);

/* Whether addr (4 or 16 bytes per af) lies inside p. */
bool prefix_contains(const struct prefix *p, int af, const void *addr);
/* Whether sa lies inside p; a v4-mapped IPv6 address counts as IPv4. */
bool prefix_contains_sa(const struct prefix *p, const struct sockaddr *sa);

#endif
