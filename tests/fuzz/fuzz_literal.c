/* fuzz_literal.c — libFuzzer harness for the IPv6-literal pseudo-names and the RFC 6052 math. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_field.h"
#include "literal.h"
#include "nat64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed name formats back to a name that parses to the same address and zone. */
static void fuzz_round_trip(const char *name, const char *suffix)
{
	char zone[LITERAL_ZONE_MAX + 1], zone2[LITERAL_ZONE_MAX + 1], buf[512];
	struct in6_addr a, b;
	int rc = literal_parse(name, suffix, &a, zone);

	if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
		abort();
	if (rc)
		return;
	if (strlen(zone) > LITERAL_ZONE_MAX)
		abort();
	rc = literal_format(&a, zone, suffix, buf, sizeof(buf));
	if (rc < 0 || (size_t)rc != strlen(buf))
		abort();
	if (literal_parse(buf, suffix, &b, zone2) || memcmp(&a, &b, sizeof(a)) ||
	    strcmp(zone, zone2))
		abort();
}

/* Whatever a prefix embeds, it extracts again. */
static void fuzz_nat64(const char *text, const uint8_t *data, size_t size)
{
	uint8_t v4[4] = {0}, a6[16], back[4];
	struct prefix p;

	if (nat64_prefix_parse(text, &p))
		return;
	memcpy(v4, data, size < 4 ? size : 4);
	nat64_embed(&p, v4, a6);
	if (!nat64_extract(&p, a6, back) || memcmp(v4, back, 4) || !nat64_find(&p, 1, a6, back))
		abort();
}

/* Input: "NAME\nSUFFIX\nPREFIX" (a missing suffix is the default one). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[600], suffix[300], prefix[80];
	const char *p = (const char *)data, *end = p + size;

	p = fuzz_field(p, end, name, sizeof(name));
	p = fuzz_field(p, end, suffix, sizeof(suffix));
	p = fuzz_field(p, end, prefix, sizeof(prefix));
	fuzz_round_trip(name, suffix[0] ? suffix : LITERAL_SUFFIX_DEFAULT);
	fuzz_round_trip(name, suffix);
	fuzz_nat64(prefix, data, size);
	return 0;
}
