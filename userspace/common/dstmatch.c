/* dstmatch.c — parses and matches destination selectors: prefixes, name suffixes, names, ports. */
#include "dstmatch.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

/* The longest DNS name in text form, without the root's dot. */
#define DSTMATCH_NAME_MAX 253

void dstmatch_init(struct dstmatch *m)
{
	memset(m, 0, sizeof(*m));
	m->port_hi = 65535;
}

void dstmatch_clear(struct dstmatch *m)
{
	if (!m)
		return;
	free(m->name);
	dstmatch_init(m);
}

/* Length of s without one trailing dot (the DNS root). */
static size_t dstmatch_len(const char *s)
{
	size_t n = strlen(s);

	return n && s[n - 1] == '.' ? n - 1 : n;
}

/* Letters, digits, '-' and '_' in non-empty dot-separated labels, 1-253 characters. */
static bool dstmatch_valid_name(const char *s, size_t n)
{
	if (!n || n > DSTMATCH_NAME_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.'
				: !isalnum((unsigned char)s[i]) && !strchr("-_", s[i]))
			return false;
	}
	return true;
}

int dstmatch_parse_to(struct dstmatch *m, const char *s)
{
	const char *name = s[0] == '.' ? s + 1 : s;
	size_t n = dstmatch_len(name);

	free(m->name);
	m->name = NULL;
	m->kind = DSTMATCH_ANY;
	if (!strcmp(s, "*"))
		return 0;
	if (prefix_parse(s, 0, &m->prefix) == 0) {
		m->kind = DSTMATCH_PREFIX;
		return 0;
	}
	if (!dstmatch_valid_name(name, n))
		return -EINVAL;
	m->name = strndup(name, n);
	if (!m->name)
		return -ENOMEM;
	for (char *p = m->name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	m->kind = s[0] == '.' ? DSTMATCH_SUFFIX : DSTMATCH_NAME;
	return 0;
}

int dstmatch_parse_port(struct dstmatch *m, const char *s)
{
	unsigned long lo, hi;
	char buf[16];
	const char *dash = strchr(s, '-');

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (dash)
		buf[dash - s] = '\0';
	if (conf_parse_uint(buf, 1, 65535, &lo) < 0)
		return -EINVAL;
	hi = lo;
	if (dash && conf_parse_uint(dash + 1, lo, 65535, &hi) < 0)
		return -EINVAL;
	m->port_lo = (uint16_t)lo;
	m->port_hi = (uint16_t)hi;
	return 0;
}

bool dstmatch_port(const struct dstmatch *m, uint16_t port)
{
	return port >= m->port_lo && port <= m->port_hi;
}

/* name (n bytes) equals want (m bytes), or, with suffix, ends with "." want. */
static bool dstmatch_name_is(const char *name, size_t n, const char *want, size_t m, bool suffix)
{
	if (!m)
		return false;
	if (n == m)
		return !strncasecmp(name, want, m);
	if (!suffix || n < m + 1)
		return false;
	return name[n - m - 1] == '.' && !strncasecmp(name + n - m, want, m);
}

bool dstmatch_under(const char *name, const char *suffix)
{
	if (suffix[0] == '.')
		suffix++;
	return dstmatch_name_is(name, dstmatch_len(name), suffix, dstmatch_len(suffix), true);
}

int dstmatch_to(const struct dstmatch *m, const char *name, const struct sockaddr *addr)
{
	switch (m->kind) {
	case DSTMATCH_ANY:
		return 1;
	case DSTMATCH_PREFIX:
		if (addr)
			return prefix_contains_sa(&m->prefix, addr);
		return name ? -1 : 0;
	default:
		return name && dstmatch_name_is(name, dstmatch_len(name), m->name, strlen(m->name),
						m->kind == DSTMATCH_SUFFIX);
	}
}
