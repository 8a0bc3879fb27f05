/* test_prefix.c — address prefixes: parsing, host bits, v4-mapped, matching both families. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "prefix.h"

static void test_parse_v4(void **state)
{
	struct prefix p;
	struct in_addr a;

	assert_int_equal(prefix_parse("203.0.113.77/24", 0, &p), 0);
	assert_int_equal(p.af, AF_INET);
	assert_int_equal(p.len, 24);
	inet_pton(AF_INET, "203.0.113.0", &a);
	assert_memory_equal(p.addr, &a, 4);
	assert_int_equal(prefix_parse("198.51.100.7", 0, &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(prefix_parse("0.0.0.0/0", 0, &p), 0);
	assert_int_equal(p.len, 0);
}

static void test_parse_v6(void **state)
{
	struct prefix p;
	struct in6_addr a;

	assert_int_equal(prefix_parse("2001:db8:ffff::1/33", 0, &p), 0);
	assert_int_equal(p.af, AF_INET6);
	assert_int_equal(p.len, 33);
	inet_pton(AF_INET6, "2001:db8:8000::", &a);
	assert_memory_equal(p.addr, &a, 16);
	assert_int_equal(prefix_parse("::1", 0, &p), 0);
	assert_int_equal(p.len, 128);
}

static void test_parse_junk(void **state)
{
	static const char *const bad[] = {
	    "",
	    "/24",
	    "203.0.113.0/33",
	    "2001:db8::/129",
	    "203.0.113.0/",
	    "203.0.113.0/x",
	    "203.0.113.0/-1",
	    "web.test",
	    "203.0.113.0/24/1",
	    "1.2.3.4.5",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(prefix_parse(bad[i], 0, &p), -EINVAL);
	assert_int_equal(prefix_parse(NULL, 0, &p), -EINVAL);
}

static void test_contains(void **state)
{
	struct prefix p4, p6;
	struct in_addr in4, out4;
	struct in6_addr in6, out6;

	assert_int_equal(prefix_parse("198.18.0.0/15", 0, &p4), 0);
	assert_int_equal(prefix_parse("2001:2::/48", 0, &p6), 0);
	inet_pton(AF_INET, "198.19.255.254", &in4);
	inet_pton(AF_INET, "198.20.0.1", &out4);
	inet_pton(AF_INET6, "2001:2:0:ffff::1", &in6);
	inet_pton(AF_INET6, "2001:2:1::1", &out6);
	assert_true(prefix_contains(&p4, AF_INET, &in4));
	assert_false(prefix_contains(&p4, AF_INET, &out4));
	assert_true(prefix_contains(&p6, AF_INET6, &in6));
	assert_false(prefix_contains(&p6, AF_INET6, &out6));
	/* A family never matches the other's prefix. */
	assert_false(prefix_contains(&p4, AF_INET6, &in6));
	assert_false(prefix_contains(&p6, AF_INET, &in4));
}

static void test_v4mapped(void **state)
{
	struct prefix p;
	struct in_addr a;

	/* A v4-mapped address or prefix of at least /96 is the IPv4 prefix it maps. */
	assert_int_equal(prefix_parse("::ffff:198.51.100.7/120", 0, &p), 0);
	assert_int_equal(p.af, AF_INET);
	assert_int_equal(p.len, 24);
	inet_pton(AF_INET, "198.51.100.0", &a);
	assert_memory_equal(p.addr, &a, 4);
	assert_int_equal(prefix_parse("::ffff:198.51.100.7", 0, &p), 0);
	assert_int_equal(p.af, AF_INET);
	assert_int_equal(p.len, 32);
	/* Shorter, it covers more than mapped addresses: it stays IPv6. */
	assert_int_equal(prefix_parse("::ffff:198.51.100.7/80", 0, &p), 0);
	assert_int_equal(p.af, AF_INET6);
	assert_int_equal(p.len, 80);
}

static void test_flags(void **state)
{
	struct prefix p;

	assert_int_equal(prefix_parse("198.18.0.0", PREFIX_NEED_LEN, &p), -EINVAL);
	assert_int_equal(prefix_parse("198.18.0.0/15", PREFIX_NEED_LEN, &p), 0);
	assert_int_equal(prefix_parse("198.18.0.1/15", PREFIX_EXACT, &p), -EINVAL);
	assert_int_equal(prefix_parse("198.19.0.0/15", PREFIX_EXACT, &p), -EINVAL);
	assert_int_equal(prefix_parse("198.18.0.0/15", PREFIX_EXACT, &p), 0);
	assert_int_equal(prefix_parse("2001:2::1/48", PREFIX_EXACT, &p), -EINVAL);
	assert_int_equal(prefix_parse("2001:2::/48", PREFIX_EXACT, &p), 0);
	/* Decimal only: a sign, a space or hex is a typo. */
	assert_int_equal(prefix_parse("198.18.0.0/+15", 0, &p), -EINVAL);
	assert_int_equal(prefix_parse("198.18.0.0/ 15", 0, &p), -EINVAL);
	assert_int_equal(prefix_parse("198.18.0.0/0xf", 0, &p), -EINVAL);
}

static void test_contains_sa(void **state)
{
	struct prefix p4, p6, none = {0};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr_in6 m6 = {.sin6_family = AF_INET6}, s6 = {.sin6_family = AF_INET6};
	struct sockaddr un = {.sa_family = AF_UNIX};

	assert_int_equal(prefix_parse("203.0.113.0/24", 0, &p4), 0);
	assert_int_equal(prefix_parse("2001:db8::/32", 0, &p6), 0);
	inet_pton(AF_INET, "203.0.113.9", &s4.sin_addr);
	inet_pton(AF_INET6, "::ffff:203.0.113.9", &m6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1::9", &s6.sin6_addr);
	assert_true(prefix_contains_sa(&p4, (struct sockaddr *)&s4));
	assert_true(prefix_contains_sa(&p4, (struct sockaddr *)&m6));
	assert_false(prefix_contains_sa(&p6, (struct sockaddr *)&m6));
	assert_true(prefix_contains_sa(&p6, (struct sockaddr *)&s6));
	assert_false(prefix_contains_sa(&p4, (struct sockaddr *)&s6));
	assert_false(prefix_contains_sa(&p4, &un));
	/* An unset prefix contains nothing. */
	assert_false(prefix_contains_sa(&none, (struct sockaddr *)&s4));
}

static void test_mask_and_bits(void **state)
{
	uint8_t m[16], a[4] = {198, 18, 0, 1}, b[4] = {198, 19, 255, 254}, c[4] = {198, 20, 0, 1};
	static const uint8_t m15[4] = {0xff, 0xfe, 0, 0};
	static const uint8_t m0[4] = {0};

	prefix_mask(m, 4, 15);
	assert_memory_equal(m, m15, 4);
	prefix_mask(m, 4, 0);
	assert_memory_equal(m, m0, 4);
	prefix_mask(m, 16, 128);
	for (int i = 0; i < 16; i++)
		assert_int_equal(m[i], 0xff);
	assert_true(prefix_bits_equal(a, b, 15));
	assert_false(prefix_bits_equal(a, c, 15));
	assert_true(prefix_bits_equal(a, c, 8));
	assert_true(prefix_bits_equal(a, c, 0));
	assert_false(prefix_bits_equal(a, b, 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_v4),	cmocka_unit_test(test_parse_v6),
	    cmocka_unit_test(test_parse_junk),	cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_v4mapped),	cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_contains_sa), cmocka_unit_test(test_mask_and_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
