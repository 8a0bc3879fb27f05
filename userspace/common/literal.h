/* literal.h — IPv6 addresses carried in DNS names: `2001-db8--1.ipv6-literal.net` (Windows' UNC
 * convention). */
#ifndef S46_LITERAL_H
#define S46_LITERAL_H

#include <netinet/in.h>
#include <stddef.h>

/* The suffix the agent answers under unless configured otherwise. */
#define LITERAL_SUFFIX_DEFAULT "ipv6-literal.net"
/* Longest zone kept (an interface name or index, IF_NAMESIZE less its NUL). */
#define LITERAL_ZONE_MAX 15

/*
 * Reads name (presentation form, any case, an optional final dot) as one label under suffix
 * (itself without leading or final dots): in that label `-` stands for `:` and `s` for the
 * zone separator `%`, so `fe80--1s4.ipv6-literal.net` is fe80::1%4. The address goes to
 * *addr, the zone (lower case, "" when none) to zone (LITERAL_ZONE_MAX + 1 bytes) unless
 * zone is NULL. Returns 0; -ENOENT when name is not under suffix (or suffix is NULL or
 * empty), so it is an ordinary name; -EINVAL when it is under suffix but is not one label
 * holding an IPv6 address (with an optional zone of 1..LITERAL_ZONE_MAX letters and digits).
 */
int literal_parse(const char *name, const char *suffix, struct in6_addr *addr, char *zone);

/* Writes the name of addr (and zone, NULL or "" for none) under suffix into buf, in its
 * shortest form (RFC 5952 lower case). Returns its length, or -ENOSPC / -EINVAL. */
int literal_format(const struct in6_addr *addr, const char *zone, const char *suffix, char *buf,
		   size_t len);

#endif
