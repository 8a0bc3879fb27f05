/* literal.c — reads and writes the IPv6-literal pseudo-names (`2001-db8--1.ipv6-literal.net`). */
#include "literal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Where the label ends when name is exactly LABEL.suffix (case-insensitive, an optional final
 * dot on either); NULL when it is not. */
static const char *literal_label_end(const char *name, const char *suffix, size_t *llen)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n && name[n - 1] == '.')
		n--;
	if (s && suffix[s - 1] == '.')
		s--;
	if (!s || n < s + 2 || name[n - s - 1] != '.' || strncasecmp(name + n - s, suffix, s))
		return NULL;
	*llen = n - s - 1;
	return name + *llen;
}

static int literal_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int literal_is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The zone after `s`: letters and digits, kept in lower case. */
static int literal_zone(const char *z, size_t len, char *zone)
{
	if (!len || len > LITERAL_ZONE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!literal_is_alnum(z[i]))
			return -EINVAL;
		if (zone)
			zone[i] = (char)(z[i] >= 'A' && z[i] <= 'Z' ? z[i] - 'A' + 'a' : z[i]);
	}
	if (zone)
		zone[len] = '\0';
	return 0;
}

int literal_parse(const char *name, const char *suffix, struct in6_addr *addr, char *zone)
{
	char text[INET6_ADDRSTRLEN];
	size_t llen, alen;
	const char *sep;

	while (suffix && *suffix == '.')
		suffix++;
	if (!name || !suffix || !*suffix || !literal_label_end(name, suffix, &llen))
		return -ENOENT;
	/* The hex digits never hold an s: the first one starts the zone. */
	for (alen = 0; alen < llen && name[alen] != 's' && name[alen] != 'S'; alen++)
		;
	sep = alen < llen ? name + alen : NULL;
	if (!alen || alen >= sizeof(text))
		return -EINVAL;
	for (size_t i = 0; i < alen; i++) {
		if (name[i] != '-' && !literal_is_hex(name[i]))
			return -EINVAL;
		text[i] = name[i] == '-' ? ':' : name[i];
	}
	text[alen] = '\0';
	if (inet_pton(AF_INET6, text, addr) != 1)
		return -EINVAL;
	if (sep)
		return literal_zone(sep + 1, llen - alen - 1, zone);
	if (zone)
		zone[0] = '\0';
	return 0;
}

int literal_format(const struct in6_addr *addr, const char *zone, const char *suffix, char *buf,
		   size_t len)
{
	char text[INET6_ADDRSTRLEN];
	int n;

	while (suffix && *suffix == '.')
		suffix++;
	if (!suffix || !*suffix || (zone && *zone && literal_zone(zone, strlen(zone), NULL)))
		return -EINVAL;
	inet_ntop(AF_INET6, addr, text, sizeof(text));
	/* inet_ntop writes a mapped or compatible address with a dotted tail: no dots in a label.
	 */
	if (strchr(text, '.')) {
		const uint8_t *b = addr->s6_addr;

		snprintf(text, sizeof(text), "::%s%x:%x", b[10] == 0xff ? "ffff:" : "",
			 b[12] << 8 | b[13], b[14] << 8 | b[15]);
	}
	for (char *p = text; *p; p++)
		if (*p == ':')
			*p = '-';
	n = snprintf(buf, len, "%s%s%s.%s", text, zone && *zone ? "s" : "", zone ? zone : "",
		     suffix);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
