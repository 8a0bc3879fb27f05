/* fuzz_dstmatch.c — libFuzzer harness for the `to`/`port` destination selector: parser, matcher,
 * and the rule and route lines built on it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dstmatch.h"
#include "fuzz_field.h"
#include "gateway/rules.h"
#include "gateway/upstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: flags, port (2 bytes), address (16 bytes), then "TO\nPORT\nNAME". */
#define FUZZ_HEAD 19

struct fuzz_case {
	char to[300], port[32], name[300];
	struct sockaddr_storage addr;
	uint16_t dport;
	bool has_addr, has_name;
};

static bool fuzz_split(const uint8_t *data, size_t size, struct fuzz_case *c)
{
	const char *p = (const char *)data + FUZZ_HEAD, *end = (const char *)data + size;

	if (size < FUZZ_HEAD)
		return false;
	memset(c, 0, sizeof(*c));
	c->dport = (uint16_t)(data[1] << 8 | data[2]);
	c->has_addr = data[0] & 1;
	c->has_name = data[0] & 2;
	if (data[0] & 4) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->addr;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, data + 3, 16);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->addr;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, data + 3, 4);
	}
	p = fuzz_field(p, end, c->to, sizeof(c->to));
	p = fuzz_field(p, end, c->port, sizeof(c->port));
	fuzz_field(p, end, c->name, sizeof(c->name));
	return true;
}

/* A parsed name is lower case, without a leading or trailing dot, and matches itself. */
static void fuzz_check_name(const struct dstmatch *m, const char *text)
{
	char up[300], dotted[300];
	size_t n = strlen(m->name);

	if (!n || n > 253 || m->name[0] == '.' || m->name[n - 1] == '.')
		abort();
	for (size_t i = 0; i < n; i++) {
		if (isupper((unsigned char)m->name[i]))
			abort();
		up[i] = (char)toupper((unsigned char)m->name[i]);
	}
	up[n] = '\0';
	snprintf(dotted, sizeof(dotted), "x.%s.", m->name);
	if (dstmatch_to(m, m->name, NULL) != 1 || dstmatch_to(m, up, NULL) != 1)
		abort();
	if (dstmatch_to(m, dotted, NULL) != (m->kind == DSTMATCH_SUFFIX))
		abort();
	/* Names never match an address alone. */
	if (dstmatch_to(m, NULL, NULL) != 0)
		abort();
	if (m->kind == DSTMATCH_SUFFIX && !dstmatch_under(dotted, text))
		abort();
}

static void fuzz_check_to(const struct dstmatch *m, const struct fuzz_case *c)
{
	const struct sockaddr *addr = c->has_addr ? (const struct sockaddr *)&c->addr : NULL;
	const char *name = c->has_name ? c->name : NULL;
	int r = dstmatch_to(m, name, addr);

	if (r < -1 || r > 1 || (r < 0 && (m->kind != DSTMATCH_PREFIX || !name || addr)))
		abort();
	if (m->kind == DSTMATCH_PREFIX && addr && r != prefix_contains_sa(&m->prefix, addr))
		abort();
	/* The suffix selector and the agent's suffix check are one matcher. */
	if (m->kind == DSTMATCH_SUFFIX && name && r != dstmatch_under(name, c->to))
		abort();
	if (m->kind == DSTMATCH_NAME)
		fuzz_check_name(m, c->to);
	if (m->kind == DSTMATCH_SUFFIX)
		fuzz_check_name(m, c->to);
}

static void fuzz_check_port(const struct dstmatch *m, int ret)
{
	if (ret < 0)
		return;
	if (!m->port_lo || m->port_lo > m->port_hi)
		abort();
	if (!dstmatch_port(m, m->port_lo) || !dstmatch_port(m, m->port_hi) || dstmatch_port(m, 0))
		abort();
}

/* The same text through a rule and a route line: both must take it or both refuse it. */
static void fuzz_lines(const struct fuzz_case *c, bool to_ok, bool port_ok)
{
	char line[400], err[256];
	struct rules *r = NULL;
	struct upstream_table *t = NULL;
	int rr, rt;

	if (rules_new(&r) < 0 || upstream_table_new(&t) < 0 || strpbrk(c->to, " \t") ||
	    strpbrk(c->port, " \t") || !c->to[0] || !c->port[0])
		goto out;
	snprintf(line, sizeof(line), "deny to %s port %s", c->to, c->port);
	rr = rules_add(r, line, NULL, 0, err, sizeof(err));
	snprintf(line, sizeof(line), "to %s port %s direct", c->to, c->port);
	rt = upstream_add_route(t, line, err, sizeof(err));
	if ((rr == 0) != (to_ok && port_ok) || (rt == 0) != (to_ok && port_ok))
		abort();
out:
	rules_free(r);
	upstream_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_case c;
	struct dstmatch m;
	int to, port;

	if (!fuzz_split(data, size, &c))
		return 0;
	dstmatch_init(&m);
	to = dstmatch_parse_to(&m, c.to);
	if (to == 0)
		fuzz_check_to(&m, &c);
	else if (to != -EINVAL || m.kind != DSTMATCH_ANY || m.name)
		abort();
	port = dstmatch_parse_port(&m, c.port);
	fuzz_check_port(&m, port);
	if (port < 0 && !dstmatch_port(&m, 0))
		abort(); /* a refused port leaves the selector as it was: any port */
	dstmatch_clear(&m);
	fuzz_lines(&c, to == 0, port == 0);
	return 0;
}
