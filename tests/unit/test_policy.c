/* test_policy.c — address prefixes: parsing, host bits, matching both families. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>

#include "agent/policy.h"

static void test_parse_v4(void **state)
{
	struct policy_prefix p;
	struct in_addr a;

	assert_int_equal(policy_parse("203.0.113.77/24", &p), 0);
	assert_int_equal(p.af, AF_INET);
	assert_int_equal(p.len, 24);
	inet_pton(AF_INET, "203.0.113.0", &a);
	assert_memory_equal(p.addr, &a, 4);
	assert_int_equal(policy_parse("198.51.100.7", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(policy_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.len, 0);
}

static void test_parse_v6(void **state)
{
	struct policy_prefix p;
	struct in6_addr a;

	assert_int_equal(policy_parse("2001:db8:ffff::1/33", &p), 0);
	assert_int_equal(p.af, AF_INET6);
	assert_int_equal(p.len, 33);
	inet_pton(AF_INET6, "2001:db8:8000::", &a);
	assert_memory_equal(p.addr, &a, 16);
	assert_int_equal(policy_parse("::1", &p), 0);
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
	struct policy_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(policy_parse(bad[i], &p), -EINVAL);
	assert_int_equal(policy_parse(NULL, &p), -EINVAL);
}

static void test_contains(void **state)
{
	struct policy_prefix p4, p6;
	struct in_addr in4, out4;
	struct in6_addr in6, out6;

	assert_int_equal(policy_parse("198.18.0.0/15", &p4), 0);
	assert_int_equal(policy_parse("2001:2::/48", &p6), 0);
	inet_pton(AF_INET, "198.19.255.254", &in4);
	inet_pton(AF_INET, "198.20.0.1", &out4);
	inet_pton(AF_INET6, "2001:2:0:ffff::1", &in6);
	inet_pton(AF_INET6, "2001:2:1::1", &out6);
	assert_true(policy_contains(&p4, AF_INET, &in4));
	assert_false(policy_contains(&p4, AF_INET, &out4));
	assert_true(policy_contains(&p6, AF_INET6, &in6));
	assert_false(policy_contains(&p6, AF_INET6, &out6));
	/* A family never matches the other's prefix. */
	assert_false(policy_contains(&p4, AF_INET6, &in6));
	assert_false(policy_contains(&p6, AF_INET, &in4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_v4),
	    cmocka_unit_test(test_parse_v6),
	    cmocka_unit_test(test_parse_junk),
	    cmocka_unit_test(test_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
