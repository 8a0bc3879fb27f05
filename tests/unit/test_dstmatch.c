/* test_dstmatch.c — destination selectors: the `to` and `port` grammar, names, prefixes, ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "dstmatch.h"

static struct sockaddr_storage sa(const char *ip)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address %s", ip);
	return ss;
}

/* dstmatch_to for a name and/or an address literal. */
static int to(const struct dstmatch *m, const char *name, const char *ip)
{
	struct sockaddr_storage ss;

	if (!ip)
		return dstmatch_to(m, name, NULL);
	ss = sa(ip);
	return dstmatch_to(m, name, (struct sockaddr *)&ss);
}

static void test_any(void **state)
{
	struct dstmatch m;

	dstmatch_init(&m);
	assert_int_equal(to(&m, "web.test", NULL), 1);
	assert_int_equal(to(&m, NULL, "203.0.113.2"), 1);
	assert_true(dstmatch_port(&m, 0));
	assert_true(dstmatch_port(&m, 65535));
	assert_int_equal(dstmatch_parse_to(&m, "*"), 0);
	assert_int_equal(m.kind, DSTMATCH_ANY);
	assert_int_equal(to(&m, NULL, "2001:db8::1"), 1);
	dstmatch_clear(&m);
	dstmatch_clear(NULL);
}

static void test_prefix(void **state)
{
	struct dstmatch m;

	dstmatch_init(&m);
	assert_int_equal(dstmatch_parse_to(&m, "203.0.113.77/24"), 0);
	assert_int_equal(m.kind, DSTMATCH_PREFIX);
	assert_int_equal(to(&m, NULL, "203.0.113.200"), 1);
	assert_int_equal(to(&m, NULL, "::ffff:203.0.113.200"), 1);
	assert_int_equal(to(&m, NULL, "203.0.114.1"), 0);
	assert_int_equal(to(&m, NULL, "2001:db8::1"), 0);
	/* A name cannot be judged by a prefix until it is resolved. */
	assert_int_equal(to(&m, "web4.test", NULL), -1);
	assert_int_equal(to(&m, "web4.test", "203.0.113.2"), 1);
	assert_int_equal(to(&m, NULL, NULL), 0);
	assert_int_equal(dstmatch_parse_to(&m, "2001:db8::1"), 0);
	assert_int_equal(to(&m, NULL, "2001:db8::1"), 1);
	assert_int_equal(to(&m, NULL, "2001:db8::2"), 0);
	dstmatch_clear(&m);
}

static void test_names(void **state)
{
	struct dstmatch m;

	dstmatch_init(&m);
	assert_int_equal(dstmatch_parse_to(&m, ".Example.COM."), 0);
	assert_int_equal(m.kind, DSTMATCH_SUFFIX);
	assert_string_equal(m.name, "example.com");
	assert_int_equal(to(&m, "example.com", NULL), 1);
	assert_int_equal(to(&m, "www.EXAMPLE.com.", NULL), 1);
	assert_int_equal(to(&m, "a.b.example.com", "203.0.113.2"), 1);
	assert_int_equal(to(&m, "badexample.com", NULL), 0);
	assert_int_equal(to(&m, "example.com.evil", NULL), 0);
	/* Names never match an address request. */
	assert_int_equal(to(&m, NULL, "203.0.113.2"), 0);
	assert_int_equal(dstmatch_parse_to(&m, "Exact.Test"), 0);
	assert_int_equal(m.kind, DSTMATCH_NAME);
	assert_int_equal(to(&m, "exact.test.", NULL), 1);
	assert_int_equal(to(&m, "sub.exact.test", NULL), 0);
	/* One trailing dot is the root; more are not ignored. */
	assert_int_equal(to(&m, "exact.test..", NULL), 0);
	dstmatch_clear(&m);
	assert_null(m.name);
}

static void test_bad_to(void **state)
{
	static const char *const bad[] = {
	    "",	   ".",	  "..",		"a..b",		  ".a..b", "exact.test..", "bad!name",
	    "a b", "x:1", "1.2.3.4/33", "2001:db8::/200", "a/b",   "-/8",	   ".example.com..",
	};
	struct dstmatch m;
	char longname[300];

	dstmatch_init(&m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dstmatch_parse_to(&m, bad[i]), -EINVAL);
		assert_int_equal(m.kind, DSTMATCH_ANY);
	}
	memset(longname, 'a', 254);
	longname[254] = '\0';
	assert_int_equal(dstmatch_parse_to(&m, longname), -EINVAL);
	longname[253] = '\0';
	assert_int_equal(dstmatch_parse_to(&m, longname), 0);
	assert_int_equal(dstmatch_parse_to(&m, "_srv-x.Example"), 0);
	dstmatch_clear(&m);
}

static void test_ports(void **state)
{
	static const char *const bad[] = {"0", "0-80", "70000", "90-80", "-1", "80-", "", "x"};
	struct dstmatch m;

	dstmatch_init(&m);
	assert_int_equal(dstmatch_parse_port(&m, "80-90"), 0);
	assert_false(dstmatch_port(&m, 79));
	assert_true(dstmatch_port(&m, 80));
	assert_true(dstmatch_port(&m, 90));
	assert_false(dstmatch_port(&m, 91));
	assert_int_equal(dstmatch_parse_port(&m, "65535"), 0);
	assert_true(dstmatch_port(&m, 65535));
	assert_false(dstmatch_port(&m, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dstmatch_parse_port(&m, bad[i]), -EINVAL);
	dstmatch_clear(&m);
}

static void test_under(void **state)
{
	assert_true(dstmatch_under("corp.example", ".Corp.Example."));
	assert_true(dstmatch_under("a.corp.example", "corp.example"));
	assert_true(dstmatch_under("a.corp.example.", "corp.example"));
	assert_false(dstmatch_under("acorp.example", "corp.example"));
	assert_false(dstmatch_under("example", "corp.example"));
	assert_false(dstmatch_under("corp.example", ""));
	assert_false(dstmatch_under("corp.example", "."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_any),	  cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_names), cmocka_unit_test(test_bad_to),
	    cmocka_unit_test(test_ports), cmocka_unit_test(test_under),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
