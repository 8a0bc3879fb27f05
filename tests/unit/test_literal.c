/* test_literal.c — IPv6-literal pseudo-names: parsing, zones, case, malformed names, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "literal.h"

#define SFX LITERAL_SUFFIX_DEFAULT

static void expect(const char *name, const char *suffix, const char *addr, const char *zone)
{
	struct in6_addr got, want;
	char z[LITERAL_ZONE_MAX + 1] = "x";

	assert_int_equal(literal_parse(name, suffix, &got, z), 0);
	assert_int_equal(inet_pton(AF_INET6, addr, &want), 1);
	assert_memory_equal(&got, &want, 16);
	assert_string_equal(z, zone);
}

static void test_parse(void **state)
{
	expect("2001-db8--1.ipv6-literal.net", SFX, "2001:db8::1", "");
	expect("2001-db8-6--2.ipv6-literal.net.", SFX, "2001:db8:6::2", "");
	expect("2001-DB8-6--2.IPv6-Literal.NET", SFX, "2001:db8:6::2", "");
	expect("--1.ipv6-literal.net", SFX, "::1", "");
	expect("1--.ipv6-literal.net", SFX, "1::", "");
	expect("fe80--1s4.ipv6-literal.net", SFX, "fe80::1", "4");
	expect("fe80--1SEth0.ipv6-literal.net", SFX, "fe80::1", "eth0");
	/* The first s separates: the zone may hold more (interface names do). */
	expect("fe80--1sens3.ipv6-literal.net", SFX, "fe80::1", "ens3");
	expect("2001-db8-0-0-0-0-0-1.v6.example", "v6.example", "2001:db8::1", "");
	/* Dots around a configured suffix do not matter. */
	expect("2001-db8--1.v6.example", ".v6.example", "2001:db8::1", "");
	/* zone may be NULL. */
	assert_int_equal(
	    literal_parse("2001-db8--1.ipv6-literal.net", SFX, &(struct in6_addr){0}, NULL), 0);
}

static void test_not_under_suffix(void **state)
{
	struct in6_addr a;

	assert_int_equal(literal_parse("web6.test", SFX, &a, NULL), -ENOENT);
	assert_int_equal(literal_parse("ipv6-literal.net", SFX, &a, NULL), -ENOENT);
	assert_int_equal(literal_parse(".ipv6-literal.net", SFX, &a, NULL), -ENOENT);
	assert_int_equal(literal_parse("2001-db8--1.xipv6-literal.net", SFX, &a, NULL), -ENOENT);
	assert_int_equal(literal_parse("2001-db8--1.ipv6-literal.net", NULL, &a, NULL), -ENOENT);
	assert_int_equal(literal_parse("2001-db8--1.ipv6-literal.net", "", &a, NULL), -ENOENT);
	assert_int_equal(literal_parse("", SFX, &a, NULL), -ENOENT);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "www.ipv6-literal.net",			 /* not hex */
	    "2001-db8---1.ipv6-literal.net",		 /* ::: */
	    "2001-db8--1--2.ipv6-literal.net",		 /* two :: */
	    "2001-db8-1.ipv6-literal.net",		 /* three groups */
	    "12345--1.ipv6-literal.net",		 /* a group of five digits */
	    "a.2001-db8--1.ipv6-literal.net",		 /* two labels */
	    "2001-db8--1.a.ipv6-literal.net",		 /* two labels */
	    "2001-db8--1s.ipv6-literal.net",		 /* empty zone */
	    "fe80--1seth_0.ipv6-literal.net",		 /* zone not letters and digits */
	    "fe80--1s0123456789abcdef.ipv6-literal.net", /* zone too long */
	    "s4.ipv6-literal.net",			 /* zone only */
	    "-.ipv6-literal.net",
	    "2001-db8--1-.ipv6-literal.net",
	    "0-0-0-0-0-ffff-192.0.2.1.ipv6-literal.net", /* dotted tails are labels */
	    "2001-db8-0000-0000-0000-0000-0000-0000-1.ipv6-literal.net",
	};
	struct in6_addr a;
	char z[LITERAL_ZONE_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(literal_parse(bad[i], SFX, &a, z), -EINVAL);
}

static void test_format_round_trip(void **state)
{
	static const char *const addrs[] = {
	    "2001:db8:6::2",	 "::1", "::", "fe80::1", "::ffff:192.0.2.1", "::192.0.2.1",
	    "64:ff9b::cb00:7102"};
	char buf[128];
	struct in6_addr a, back;
	char z[LITERAL_ZONE_MAX + 1];

	inet_pton(AF_INET6, "2001:db8:6::2", &a);
	assert_int_equal(literal_format(&a, NULL, SFX, buf, sizeof(buf)),
			 (int)strlen("2001-db8-6--2.ipv6-literal.net"));
	assert_string_equal(buf, "2001-db8-6--2.ipv6-literal.net");
	inet_pton(AF_INET6, "fe80::1", &a);
	assert_true(literal_format(&a, "4", SFX, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "fe80--1s4.ipv6-literal.net");
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		inet_pton(AF_INET6, addrs[i], &a);
		assert_true(literal_format(&a, "", SFX, buf, sizeof(buf)) > 0);
		assert_null(strchr(buf, ':'));
		assert_int_equal(literal_parse(buf, SFX, &back, z), 0);
		assert_memory_equal(&a, &back, 16);
	}
	assert_int_equal(literal_format(&a, NULL, SFX, buf, 10), -ENOSPC);
	assert_int_equal(literal_format(&a, "a%b", SFX, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(literal_format(&a, NULL, "", buf, sizeof(buf)), -EINVAL);
}

/* A suffix written with its final dot reads back the name formatted with it (found by
 * fuzz_literal: "--.0.." under the suffix "0."). */
static void test_suffix_final_dot(void **state)
{
	char buf[128], z[LITERAL_ZONE_MAX + 1];
	struct in6_addr a, back;

	assert_int_equal(literal_parse("--.0..", "0.", &a, z), -ENOENT);
	assert_int_equal(literal_parse("--.0.", "0.", &a, z), 0);
	assert_true(literal_format(&a, z, "0.", buf, sizeof(buf)) > 0);
	assert_int_equal(literal_parse(buf, "0.", &back, z), 0);
	assert_memory_equal(&a, &back, 16);
	assert_int_equal(literal_parse("2001-db8--1.ipv6-literal.net", "ipv6-literal.net.", &a, z),
			 0);
	assert_int_equal(literal_parse("x.net", ".", &a, z), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_not_under_suffix),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_suffix_final_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
