/* test_destpolicy.c — unspecified and loopback in every spelling, numeric-looking names, loops
 * through wildcard and specific listeners, the own-host refusal and rules that name the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "gateway/destpolicy.h"
#include "gateway/rules.h"
#include "netutil.h"

static struct sockaddr_storage sa(const char *hostport)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse(hostport, 1, &ss, NULL), 0);
	return ss;
}

static bool unspec(const char *ip)
{
	struct sockaddr_storage ss = sa(ip);

	return destpolicy_unspecified((struct sockaddr *)&ss);
}

static bool loopback(const char *ip)
{
	struct sockaddr_storage ss = sa(ip);

	return destpolicy_loopback((struct sockaddr *)&ss);
}

static void test_unspecified(void **state)
{
	assert_true(unspec("0.0.0.0"));
	assert_true(unspec("0.1.2.3"));
	assert_true(unspec("::"));
	assert_true(unspec("::ffff:0.0.0.0"));
	assert_true(unspec("::ffff:0.255.0.1"));
	assert_false(unspec("1.0.0.0"));
	assert_false(unspec("::1"));
	assert_false(unspec("::ffff:127.0.0.1"));
	assert_false(unspec("2001:db8::"));
}

static void test_loopback(void **state)
{
	assert_true(loopback("127.0.0.1"));
	assert_true(loopback("127.255.0.9"));
	assert_true(loopback("::1"));
	assert_true(loopback("::ffff:127.0.0.1"));
	assert_false(loopback("128.0.0.1"));
	assert_false(loopback("::2"));
	assert_false(loopback("0.0.0.0"));
}

static void test_numeric_names(void **state)
{
	static const char *const numeric[] = {
	    "127.1",	 "0177.0.0.1", "0x7f.1", "2130706433",	 "127.0.0.1.",
	    "1.2.3.4.5", "a.b.c.123",  "0x",	 "example.0X1f", "010.0.0.1"};
	static const char *const names[] = {"example.com",  "1.2.3.4.example", "123.example.",
					    "0x7f.example", "web4.test",       "x123",
					    "a.0xg",	    "localhost",       "."};

	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		assert_true(destpolicy_numeric_name(numeric[i]));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_false(destpolicy_numeric_name(names[i]));
}

/* A policy as if listening on these addresses (real sockets: getsockname is what it reads). */
static void listen_on(struct destpolicy *p, const char *const *addrs, unsigned n)
{
	int fds[LISTENER_MAX];

	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_storage ss = sa(addrs[i]);

		fds[i] = netutil_listen((struct sockaddr *)&ss, true, false, 1);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(destpolicy_init(p, fds, n), 0);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

static enum destpolicy_why check(const struct destpolicy *p, const char *dst, bool named)
{
	struct sockaddr_storage ss = sa(dst);

	return destpolicy_check(p, NULL, (struct sockaddr *)&ss, named);
}

static void test_loopback_listener(void **state)
{
	static const char *const l[] = {"127.0.0.1:31080"};
	struct destpolicy p;

	listen_on(&p, l, 1);
	assert_false(p.exposed);
	assert_int_equal(check(&p, "127.0.0.1:31080", false), DESTPOLICY_LOOP);
	assert_int_equal(check(&p, "[::ffff:127.0.0.1]:31080", true), DESTPOLICY_LOOP);
	assert_int_equal(check(&p, "0.0.0.0:31080", true), DESTPOLICY_UNSPECIFIED);
	assert_int_equal(check(&p, "[::]:80", true), DESTPOLICY_UNSPECIFIED);
	/* Loopback-only: the host's other services stay reachable, as they are anyway. */
	assert_int_equal(check(&p, "127.0.0.1:8080", false), DESTPOLICY_OK);
	assert_int_equal(check(&p, "127.0.0.2:31080", false), DESTPOLICY_OK);
	assert_int_equal(check(&p, "[::1]:31080", false), DESTPOLICY_OK);
}

static void test_wildcard_listener(void **state)
{
	static const char *const l[] = {"127.0.0.1:31081", "[::]:31082"};
	struct destpolicy p;

	listen_on(&p, l, 2);
	assert_true(p.exposed);
	assert_int_equal(check(&p, "127.0.0.1:8080", false), DESTPOLICY_OWN_HOST);
	assert_int_equal(check(&p, "127.3.2.1:8080", false), DESTPOLICY_OWN_HOST);
	assert_int_equal(check(&p, "[::1]:8080", false), DESTPOLICY_OWN_HOST);
	assert_int_equal(check(&p, "[::ffff:127.0.0.1]:8080", false), DESTPOLICY_OWN_HOST);
	assert_int_equal(check(&p, "127.0.0.1:8080", true), DESTPOLICY_OK);
	assert_int_equal(check(&p, "[::1]:8080", true), DESTPOLICY_OK);
	/* A wildcard listener is on every address of the host, in both families. */
	assert_int_equal(check(&p, "127.0.0.5:31082", true), DESTPOLICY_LOOP);
	assert_int_equal(check(&p, "[::1]:31082", true), DESTPOLICY_LOOP);
	assert_int_equal(check(&p, "127.0.0.1:31081", true), DESTPOLICY_LOOP);
	assert_int_equal(check(&p, "198.51.100.1:8080", false), DESTPOLICY_OK);
	assert_int_equal(check(&p, "198.51.100.1:31082", false), DESTPOLICY_OK);
}

static int named(const char *rule, const char *dst)
{
	struct rules *r = NULL;

	assert_int_equal(rules_new(&r), 0);
	struct sockaddr_storage d = sa(dst), c = sa("198.51.100.2");
	char err[256];
	int ret;

	assert_int_equal(rules_add(r, rule, "t.conf", 1, err, sizeof(err)), 0);
	ret = rules_check_addr(r, (struct sockaddr *)&c, NULL, RULES_CMD_CONNECT, NULL,
			       (struct sockaddr *)&d);
	rules_free(r);
	return ret;
}

static void test_rules_names_host(void **state)
{
	assert_int_equal(named("allow to 127.0.0.1/32", "127.0.0.1:80"), 1);
	assert_int_equal(named("allow to 127.0.0.0/8 port 80", "127.0.0.9:80"), 1);
	assert_int_equal(named("allow to ::1/128", "[::1]:80"), 1);
	assert_int_equal(named("allow to 198.51.100.1", "198.51.100.1:80"), 1);
	assert_int_equal(named("allow to 127.0.0.1/32", "[::ffff:127.0.0.1]:80"), 1);
	/* A network, everything, a name, no `to`: not the host by name. */
	assert_int_equal(named("allow to 198.51.100.0/24", "198.51.100.1:80"), 0);
	assert_int_equal(named("allow to 0.0.0.0/0", "127.0.0.1:80"), 0);
	assert_int_equal(named("allow to ::/0", "[::1]:80"), 0);
	assert_int_equal(named("allow to *", "127.0.0.1:80"), 0);
	assert_int_equal(named("allow", "127.0.0.1:80"), 0);
	assert_int_equal(named("allow to 0.0.0.0/1", "127.0.0.1:80"), 0);
	assert_int_equal(named("deny to 127.0.0.1/32", "127.0.0.1:80"), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unspecified),	      cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_numeric_names),     cmocka_unit_test(test_loopback_listener),
	    cmocka_unit_test(test_wildcard_listener), cmocka_unit_test(test_rules_names_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
