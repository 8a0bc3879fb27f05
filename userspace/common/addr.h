/* addr.h — socket address parsing, formatting and family helpers shared by every component. */
#ifndef S46_ADDR_H
#define S46_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Long enough for "[ffff:...:ffff%ifname]:65535". */
#define ADDR_STRLEN 64

/*
 * Parses "1.2.3.4:80", "[2001:db8::1]:80", "1.2.3.4", "[::1]" or "::1" (a bare
 * IPv6 literal has no port). A missing port takes default_port; if that is 0 a
 * port is required. Returns 0 or -EINVAL on junk (names are not resolved).
 */
int addr_parse(const char *hostport, unsigned short default_port, struct sockaddr_storage *out,
	       socklen_t *len);

/* Parses an IP literal without a port into out (port 0). Returns 0 or -EINVAL. */
int addr_parse_ip(const char *ip, struct sockaddr_storage *out, socklen_t *len);

/* "1.2.3.4:80" or "[::1]:80"; "?" for an unknown family. Always returns buf. */
char *addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* The address alone, without port or brackets. Always returns buf. */
char *addr_format_ip(const struct sockaddr *sa, char *buf, size_t len);

/* sizeof(sockaddr_in) / sizeof(sockaddr_in6) for the family, 0 for others. */
socklen_t addr_len(int family);
static inline socklen_t addr_sa_len(const struct sockaddr *sa)
{
	return addr_len(sa->sa_family);
}

/* Port in host order, 0 for other families. */
uint16_t addr_port(const struct sockaddr *sa);
void addr_set_port(struct sockaddr *sa, uint16_t port);

/* True for ::ffff:a.b.c.d. */
bool addr_is_v4mapped(const struct sockaddr *sa);
/* An AF_INET6 v4-mapped address becomes AF_INET in place; anything else is left alone. */
void addr_unmap(struct sockaddr_storage *ss);

/* Same family, address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
