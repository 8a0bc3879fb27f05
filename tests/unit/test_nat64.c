/* test_nat64.c — RFC 6052 address math: the §2.4 examples for every prefix length, parsing, misses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "nat64.h"

/* RFC 6052 §2.4: 192.0.2.33 under each prefix. */
static const struct {
	const char *prefix, *embedded;
} rfc6052_examples[] = {
    {"2001:db8::/32", "2001:db8:c000:221::"},
    {"2001:db8:100::/40", "2001:db8:1c0:2:21::"},
    {"2001:db8:122::/48", "2001:db8:122:c000:2:2100::"},
    {"2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"},
    {"2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"},
    {"2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"},
    {"64:ff9b::/96", "64:ff9b::192.0.2.33"},
};

static void test_rfc6052_examples(void **state)
{
	uint8_t v4[4], want[16], out[16], got4[4];
	struct prefix p;

	inet_pton(AF_INET, "192.0.2.33", v4);
	for (size_t i = 0; i < sizeof(rfc6052_examples) / sizeof(rfc6052_examples[0]); i++) {
		assert_int_equal(nat64_prefix_parse(rfc6052_examples[i].prefix, &p), 0);
		assert_int_equal(inet_pton(AF_INET6, rfc6052_examples[i].embedded, want), 1);
		nat64_embed(&p, v4, out);
		assert_memory_equal(out, want, 16);
		memset(got4, 0, sizeof(got4));
		assert_true(nat64_extract(&p, want, got4));
		assert_memory_equal(got4, v4, 4);
	}
}

/* The suffix bits are ignored (§2.2); a set u octet or another prefix is no embedded address. */
static void test_extract_suffix_u_and_misses(void **state)
{
	uint8_t a[16], v4[4];
	struct prefix p;

	assert_int_equal(nat64_prefix_parse("2001:db8:122:344::/64", &p), 0);
	inet_pton(AF_INET6, "2001:db8:122:344:c0:2:2100:ff", a);
	assert_true(nat64_extract(&p, a, v4));
	assert_int_equal(v4[0], 192);
	assert_int_equal(v4[3], 33);
	inet_pton(AF_INET6, "2001:db8:122:344:1c0:2:2100:0", a);
	assert_false(nat64_extract(&p, a, v4));
	inet_pton(AF_INET6, "2001:db8:122:345:c0:2:2100:0", a);
	assert_false(nat64_extract(&p, a, v4));
	assert_int_equal(nat64_prefix_parse(NAT64_WKP, &p), 0);
	inet_pton(AF_INET6, "64:ff9b:1::cb00:7102", a);
	assert_false(nat64_extract(&p, a, v4));
	inet_pton(AF_INET6, "64:ff9b::cb00:7102", a);
	assert_true(nat64_extract(&p, a, v4));
	assert_int_equal(v4[0], 203);
	assert_int_equal(v4[3], 2);
}

static void test_find_first_match(void **state)
{
	struct prefix list[2];
	uint8_t a[16], v4[4];

	assert_int_equal(nat64_prefix_parse("2001:db8:64::/64", &list[0]), 0);
	assert_int_equal(nat64_prefix_parse(NAT64_WKP, &list[1]), 0);
	inet_pton(AF_INET6, "2001:db8:64:0:cb:71:200:0", a);
	assert_true(nat64_find(list, 2, a, v4));
	assert_int_equal(v4[0], 203);
	assert_int_equal(v4[1], 0);
	assert_int_equal(v4[2], 113);
	assert_int_equal(v4[3], 2);
	inet_pton(AF_INET6, "64:ff9b::c633:6402", a);
	assert_true(nat64_find(list, 2, a, v4));
	assert_int_equal(v4[0], 198);
	inet_pton(AF_INET6, "2001:db8:6::2", a);
	assert_false(nat64_find(list, 2, a, v4));
	assert_false(nat64_find(list, 0, a, v4));
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
	    "64:ff9b::",	     /* no length */
	    "64:ff9b::/95",	     /* not one of RFC 6052's lengths */
	    "2001:db8::/128",	     /* neither */
	    "2001:db8::1/32",	     /* host bits set */
	    "2001:db8:0:0:100::/96", /* u octet set */
	    "::ffff:0:0/96",	     /* v4-mapped: IPv4 already */
	    "192.0.2.0/24",	     /* IPv4 */
	    "64:ff9b::/ 96",	     /* garbage */
	    "",
	};
	struct prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nat64_prefix_parse(bad[i], &p), -EINVAL);
	assert_int_equal(nat64_prefix_parse("2001:db8:ab00::/40", &p), 0);
	assert_int_equal(p.len, 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6052_examples),
	    cmocka_unit_test(test_extract_suffix_u_and_misses),
	    cmocka_unit_test(test_find_first_match),
	    cmocka_unit_test(test_parse_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
