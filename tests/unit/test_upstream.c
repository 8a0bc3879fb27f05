/* test_upstream.c — chained relay: upstream and route lines, first-match routing, bad marking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "gateway/gwconf.h"
#include "gateway/upstream.h"

static char pwfile[64];

static int setup(void **state)
{
	int fd;

	snprintf(pwfile, sizeof(pwfile), "/tmp/s46_pw_XXXXXX");
	fd = mkstemp(pwfile);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\nignored\n", 15), 15);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(pwfile);
	return 0;
}

static struct socks5_addr name_dst(const char *name, uint16_t port)
{
	struct socks5_addr a = {0};

	assert_int_equal(socks5_addr_set_name(&a, name, port), 0);
	socks5_addr_unliteral(&a);
	return a;
}

/* The name of the first upstream a route would try, "direct" for none. */
static const char *route_of(struct upstream_table *t, const char *name, uint16_t port)
{
	struct socks5_addr a = name_dst(name, port);
	const struct upstream_route *r = upstream_match(t, &a);
	struct srvlist_iter it;
	const char *first;

	if (!r)
		return "direct";
	srvlist_iter_start(&it, upstream_route_via(r));
	first = srvlist_next(&it, 0)->name;
	srvlist_iter_end(&it);
	return first;
}

static struct upstream_table *table(const char *const *ups, const char *const *routes)
{
	struct upstream_table *t = NULL;

	assert_int_equal(upstream_table_new(&t), 0);
	char err[256];

	assert_non_null(t);
	for (; ups && *ups; ups++) {
		char line[256];

		snprintf(line, sizeof(line), *ups, pwfile);
		if (upstream_add(t, line, err, sizeof(err)) < 0)
			fail_msg("upstream '%s': %s", line, err);
	}
	for (; routes && *routes; routes++)
		if (upstream_add_route(t, *routes, err, sizeof(err)) < 0)
			fail_msg("route '%s': %s", *routes, err);
	return t;
}

static void test_upstream_lines(void **state)
{
	static const char *const ups[] = {
	    "a 198.51.100.1:1080",
	    "b [2001:db8::1]:1081 user alice password-file %s",
	    "c gw.example.net:1082",
	    NULL,
	};
	struct upstream_table *t = table(ups, (const char *const[]){"via a,b,c", NULL});
	const struct upstream_route *r;
	struct socks5_addr any = name_dst("x.test", 80);
	struct srv *u;
	char buf[ADDR_STRLEN];
	struct srvlist_iter it;

	r = upstream_match(t, &any);
	assert_non_null(r);
	srvlist_iter_start(&it, upstream_route_via(r));
	u = srvlist_next(&it, 0);
	assert_string_equal(u->name, "a");
	assert_null(u->host);
	assert_string_equal(addr_format((struct sockaddr *)&u->addr, buf, sizeof(buf)),
			    "198.51.100.1:1080");
	assert_int_equal(u->port, 1080);
	assert_null(u->user);
	u = srvlist_next(&it, 0);
	assert_string_equal(u->name, "b");
	assert_string_equal(u->user, "alice");
	assert_string_equal(u->pass, "s3cret");
	assert_int_equal(u->addr.ss_family, AF_INET6);
	u = srvlist_next(&it, 0);
	assert_string_equal(u->name, "c");
	assert_string_equal(u->host, "gw.example.net");
	assert_int_equal(u->port, 1082);
	assert_null(srvlist_next(&it, 0));
	srvlist_iter_end(&it);
	upstream_table_free(t);
}

static void test_bad_lines(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} bad_ups[] = {
	    {"", "expected NAME"},
	    {"a", "missing HOST:PORT"},
	    {"a 198.51.100.1", "not HOST:PORT"},
	    {"a host:0", "not HOST:PORT"},
	    {"a host:99999", "not HOST:PORT"},
	    {"a bad_host!:80", "not HOST:PORT"},
	    {"a 198.51.100.1:80 user bob", "go together"},
	    {"a 198.51.100.1:80 password-file /nonexistent/pw user bob", "No such file"},
	    {"a 198.51.100.1:80 user", "missing value"},
	    {"a 198.51.100.1:80 colour red", "unexpected 'colour'"},
	    {"dup 198.51.100.1:80", "defined twice"},
	};
	static const struct {
		const char *line;
		const char *msg;
	} bad_routes[] = {
	    {"", "needs `via"},
	    {"to .example.net", "needs `via"},
	    {"to .example.net via nosuch", "unknown upstream 'nosuch'"},
	    {"to 198.51.100.0/33 via dup", "is not a CIDR"},
	    {"to bad!name via dup", "is not a CIDR"},
	    {"port 0 via dup", "port '0'"},
	    {"port 90-80 via dup", "port '90-80'"},
	    {"via dup extra", "after the target"},
	    {"direct via dup", "after the target"},
	    {"from 198.51.100.0/24 via dup", "unexpected 'from'"},
	    {"* via dup", "unexpected '*'"},
	    {"to", "missing value"},
	};
	struct upstream_table *t =
	    table((const char *const[]){"dup 198.51.100.9:1080", NULL}, NULL);
	char err[256];

	for (size_t i = 0; i < sizeof(bad_ups) / sizeof(bad_ups[0]); i++) {
		err[0] = '\0';
		assert_int_equal(upstream_add(t, bad_ups[i].line, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad_ups[i].msg))
			fail_msg("'%s': got '%s', want '%s'", bad_ups[i].line, err, bad_ups[i].msg);
	}
	for (size_t i = 0; i < sizeof(bad_routes) / sizeof(bad_routes[0]); i++) {
		err[0] = '\0';
		assert_int_equal(upstream_add_route(t, bad_routes[i].line, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, bad_routes[i].msg))
			fail_msg("'%s': got '%s', want '%s'", bad_routes[i].line, err,
				 bad_routes[i].msg);
	}
	upstream_table_free(t);
}

static void test_route_match(void **state)
{
	static const char *const ups[] = {"a 198.51.100.1:1080", "b 198.51.100.2:1080",
					  "c 198.51.100.3:1080", NULL};
	static const char *const routes[] = {
	    "to direct.example.net direct",
	    "to .example.net via a",
	    "to 203.0.113.0/24 port 80-90 via b",
	    "to 2001:db8:1::/48 via c",
	    "to exact.test via c",
	    "port 25 via b",
	    NULL,
	};
	struct upstream_table *t = table(ups, routes);

	assert_string_equal(route_of(t, "example.net", 80), "a");
	assert_string_equal(route_of(t, "www.EXAMPLE.net.", 80), "a");
	assert_string_equal(route_of(t, "direct.example.net", 80), "direct");
	assert_string_equal(route_of(t, "badexample.net", 443), "direct");
	assert_string_equal(route_of(t, "203.0.113.7", 80), "b");
	assert_string_equal(route_of(t, "203.0.113.7", 90), "b");
	assert_string_equal(route_of(t, "203.0.113.7", 91), "direct");
	assert_string_equal(route_of(t, "203.0.114.7", 80), "direct");
	assert_string_equal(route_of(t, "2001:db8:1:ffff::1", 443), "c");
	assert_string_equal(route_of(t, "2001:db8:2::1", 443), "direct");
	/* A CIDR never matches a name: names are not resolved for routing. */
	assert_string_equal(route_of(t, "www.example.org", 80), "direct");
	assert_string_equal(route_of(t, "exact.test", 1), "c");
	assert_string_equal(route_of(t, "sub.exact.test", 1), "direct");
	assert_string_equal(route_of(t, "mail.test", 25), "b");
	assert_null(upstream_match(NULL, &(struct socks5_addr){.atyp = SOCKS5_ATYP_IPV4}));
	upstream_table_free(t);
}

static void test_failover_and_bad(void **state)
{
	static const char *const ups[] = {"a 198.51.100.1:1080", "b 198.51.100.2:1080", NULL};
	struct upstream_table *t2 = table(ups, (const char *const[]){"to * via a,b", NULL});
	struct socks5_addr dst = name_dst("x.test", 80);
	const struct upstream_route *r;
	struct srv *a, *b;
	struct srvlist_iter it;

	r = upstream_match(t2, &dst);
	assert_non_null(r);
	srvlist_iter_start(&it, upstream_route_via(r));
	a = srvlist_next(&it, 1000);
	b = srvlist_next(&it, 1000);
	assert_string_equal(a->name, "a");
	assert_string_equal(b->name, "b");
	/* Two failures: not bad yet with a limit of 3; a success resets the count. */
	srv_report(a, false, 1000, 3, 30000);
	srv_report(a, false, 1000, 3, 30000);
	assert_false(srv_is_bad(a, 1000));
	srv_report(a, true, 1000, 3, 30000);
	srv_report(a, false, 1000, 3, 30000);
	srv_report(a, false, 1000, 3, 30000);
	assert_false(srv_is_bad(a, 1000));
	srv_report(a, false, 1000, 3, 30000);
	assert_true(srv_is_bad(a, 1000));
	assert_true(srv_is_bad(a, 30999));
	assert_false(srv_is_bad(a, 31000));
	/* While a is bad, b comes first; a is still tried after b. */
	srvlist_iter_end(&it);
	srvlist_iter_start(&it, upstream_route_via(r));
	assert_ptr_equal(srvlist_next(&it, 2000), b);
	assert_ptr_equal(srvlist_next(&it, 2000), a);
	assert_null(srvlist_next(&it, 2000));
	/* Both bad: in order anyway. */
	for (int i = 0; i < 3; i++)
		srv_report(b, false, 2000, 3, 30000);
	srvlist_iter_end(&it);
	srvlist_iter_start(&it, upstream_route_via(r));
	assert_ptr_equal(srvlist_next(&it, 2000), a);
	assert_ptr_equal(srvlist_next(&it, 2000), b);
	/* After the bad time a is first again. */
	srvlist_iter_end(&it);
	srvlist_iter_start(&it, upstream_route_via(r));
	assert_ptr_equal(srvlist_next(&it, 40000), a);
	srvlist_iter_end(&it);
	upstream_table_free(t2);
}

/* The config keys reach the table; routes may name upstreams from the same file. */
static void test_conf_keys(void **state)
{
	struct gwconf c;
	char err[CONF_ERRLEN], line[256];
	struct socks5_addr dst = name_dst("www.example.net", 443);

	gwconf_defaults(&c);
	assert_int_equal(c.upstream_fail_limit, 3);
	assert_int_equal(c.upstream_bad_s, 30);
	assert_int_equal(c.bind_timeout_s, 60);
	assert_int_equal(c.processes, 1);
	snprintf(line, sizeof(line), "up 198.51.100.1:1080 user u password-file %s", pwfile);
	assert_int_equal(gwconf_set(&c, "upstream", line, err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "route", "to .example.net via up", err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "upstream-fail-limit", "5", err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "upstream-bad-time", "7", err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "bind-timeout", "9", err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "processes", "2", err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "processes", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(gwconf_set(&c, "bind-timeout", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(c.upstream_fail_limit, 5);
	assert_int_equal(c.upstream_bad_s, 7);
	assert_int_equal(c.bind_timeout_s, 9);
	assert_int_equal(c.processes, 2);
	assert_non_null(upstream_match(c.upstreams, &dst));
	assert_int_equal(gwconf_set(&c, "route", "via nope", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown upstream 'nope'"));
	gwconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upstream_lines), cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_route_match),	   cmocka_unit_test(test_failover_and_bad),
	    cmocka_unit_test(test_conf_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
