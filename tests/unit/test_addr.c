/* test_addr.c — address parsing, formatting and v4-mapped conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "addr.h"

static void assert_roundtrip(const char *in, unsigned short def, const char *want)
{
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];
	socklen_t len = 0;

	assert_int_equal(addr_parse(in, def, &ss, &len), 0);
	assert_int_equal(len, addr_len(ss.ss_family));
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), want);
}

static void test_parse_good(void **state)
{
	assert_roundtrip("1.2.3.4:80", 0, "1.2.3.4:80");
	assert_roundtrip("[2001:db8::1]:80", 0, "[2001:db8::1]:80");
	assert_roundtrip("127.0.0.1", 1080, "127.0.0.1:1080");
	assert_roundtrip("[::1]", 1080, "[::1]:1080");
	assert_roundtrip("::1", 53, "[::1]:53");
	assert_roundtrip("0.0.0.0:65535", 0, "0.0.0.0:65535");
	assert_roundtrip("[::ffff:198.51.100.1]:1", 0, "[::ffff:198.51.100.1]:1");
}

static void test_parse_junk(void **state)
{
	static const char *const junk[] = {
	    "",
	    "1.2.3.4",
	    "1.2.3.4:",
	    "1.2.3.4:0",
	    "1.2.3.4:65536",
	    "1.2.3.4:-1",
	    "1.2.3.4:8x",
	    "1.2.3:80",
	    "host:80",
	    "[1.2.3.4]:80",
	    "[::1",
	    "[::1]80",
	    "[]:80",
	    "::1:zz",
	    "[::1]:",
	    "1.2.3.4:80:90",
	    "[::1]:+80",
	    " 1.2.3.4:80",
	    "999.1.1.1:80",
	};
	struct sockaddr_storage ss;

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		print_message("junk: '%s'\n", junk[i]);
		assert_int_equal(addr_parse(junk[i], 0, &ss, NULL), -EINVAL);
	}
	assert_int_equal(addr_parse(NULL, 80, &ss, NULL), -EINVAL);
}

static void test_parse_ip(void **state)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse_ip("2001:db8::2", &ss, NULL), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_port((struct sockaddr *)&ss), 0);
	assert_int_equal(addr_parse_ip("web.test", &ss, NULL), -EINVAL);
}

static void test_mapped(void **state)
{
	struct sockaddr_storage ss, orig;
	char buf[ADDR_STRLEN];

	addr_parse("198.51.100.2:1234", 0, &orig, NULL);
	assert_false(addr_is_v4mapped((struct sockaddr *)&orig));
	addr_parse("[::ffff:198.51.100.2]:1234", 0, &ss, NULL);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_true(addr_is_v4mapped((struct sockaddr *)&ss));
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)),
			    "[::ffff:198.51.100.2]:1234");
	addr_unmap(&ss);
	assert_true(addr_equal((struct sockaddr *)&ss, (struct sockaddr *)&orig));
	/* A real IPv6 address is left alone. */
	addr_parse("[2001:db8::1]:5", 0, &ss, NULL);
	orig = ss;
	addr_unmap(&ss);
	assert_true(addr_equal((struct sockaddr *)&ss, (struct sockaddr *)&orig));
}

static void test_helpers(void **state)
{
	struct sockaddr_storage a, b;
	char buf[ADDR_STRLEN];

	assert_int_equal(addr_len(AF_INET), sizeof(struct sockaddr_in));
	assert_int_equal(addr_len(AF_INET6), sizeof(struct sockaddr_in6));
	assert_int_equal(addr_len(AF_UNIX), 0);
	addr_parse("[2001:db8::1]:5", 0, &a, NULL);
	addr_set_port((struct sockaddr *)&a, 6);
	assert_int_equal(addr_port((struct sockaddr *)&a), 6);
	b = a;
	assert_true(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	addr_set_port((struct sockaddr *)&b, 7);
	assert_false(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_string_equal(addr_format_ip((struct sockaddr *)&a, buf, sizeof(buf)), "2001:db8::1");
	memset(&a, 0, sizeof(a));
	a.ss_family = AF_UNIX;
	assert_string_equal(addr_format((struct sockaddr *)&a, buf, sizeof(buf)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_junk),
	    cmocka_unit_test(test_parse_ip),   cmocka_unit_test(test_mapped),
	    cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
