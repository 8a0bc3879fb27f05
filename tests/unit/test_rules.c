/* test_rules.c — access rules: syntax errors, each condition, first match, deferral for names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "addr.h"
#include "gateway/rules.h"

static struct sockaddr_storage sa(const char *ip)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse_ip(ip, &ss, NULL), 0);
	return ss;
}

static struct rules *load(const char *const *lines)
{
	struct rules *r = NULL;

	assert_int_equal(rules_new(&r), 0);
	char err[256];

	assert_non_null(r);
	for (unsigned i = 0; lines[i]; i++)
		assert_int_equal(rules_add(r, lines[i], "test.conf", i + 1, err, sizeof(err)), 0);
	return r;
}

/* Checks one request; returns the action and writes where the deciding rule is. */
static enum rules_action check(const struct rules *r, const char *client, const char *user,
			       unsigned cmd, const char *name, const char *dst, uint16_t port,
			       char *where)
{
	struct sockaddr_storage c = sa(client), d;
	struct rules_req q = {
	    .client = (struct sockaddr *)&c, .user = user, .cmd = cmd, .name = name, .port = port};
	const struct rule *hit;
	enum rules_action a;

	if (dst) {
		d = sa(dst);
		q.addr = (struct sockaddr *)&d;
	}
	a = rules_check(r, &q, &hit);
	rules_where(hit, where, 64);
	return a;
}

static void test_syntax_errors(void **state)
{
	static const char *const bad[] = {
	    "",
	    "permit",
	    "allow from",
	    "allow from 198.51.100.0/33",
	    "allow from 2001:db8::/129",
	    "allow from nonsense",
	    "allow cmd fly",
	    "allow cmd connect,",
	    "allow port 70000",
	    "allow port 90-80",
	    "allow to 2001:db8::/200",
	    "allow to .",
	    "allow color red",
	    "allow port 80 port 81",
	    "deny user",
	};
	struct rules *r = NULL;

	assert_int_equal(rules_new(&r), 0);
	char err[256];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(rules_add(r, bad[i], NULL, 0, err, sizeof(err)), -EINVAL);
		assert_true(strncmp(err, "rule:", 5) == 0);
	}
	assert_int_equal(rules_count(r), 0);
	rules_free(r);
}

static void test_empty_allows(void **state)
{
	struct rules *r = NULL;

	assert_int_equal(rules_new(&r), 0);
	char where[64];

	assert_int_equal(
	    check(r, "203.0.113.9", NULL, RULES_CMD_CONNECT, NULL, "198.51.100.1", 80, where),
	    RULES_ALLOW);
	assert_string_equal(where, "default");
	assert_int_equal(check(NULL, "203.0.113.9", NULL, RULES_CMD_UDP, "x.test", NULL, 53, where),
			 RULES_ALLOW);
	rules_free(r);
}

static void test_client_cidr(void **state)
{
	static const char *const lines[] = {"deny from 198.51.100.0/25",
					    "allow from 2001:db8:c6::/48", "deny", NULL};
	struct rules *r = load(lines);
	char where[64];

	assert_int_equal(check(r, "198.51.100.2", NULL, 1, NULL, "203.0.113.2", 7, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:1");
	/* A v4-mapped client (IPv6 listener) is judged as IPv4. */
	assert_int_equal(check(r, "::ffff:198.51.100.2", NULL, 1, NULL, "203.0.113.2", 7, where),
			 RULES_DENY);
	assert_int_equal(check(r, "198.51.100.200", NULL, 1, NULL, "203.0.113.2", 7, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:3");
	assert_int_equal(check(r, "2001:db8:c6::2", NULL, 1, NULL, "203.0.113.2", 7, where),
			 RULES_ALLOW);
	assert_string_equal(where, "test.conf:2");
	assert_int_equal(check(r, "2001:db8:c7::2", NULL, 1, NULL, "203.0.113.2", 7, where),
			 RULES_DENY);
	rules_free(r);
}

static void test_user_and_cmd(void **state)
{
	static const char *const lines[] = {"allow user alice cmd connect,udp", "deny user -",
					    "allow user bob cmd resolve", "deny", NULL};
	struct rules *r = load(lines);
	struct sockaddr_storage ss;
	char where[64];

	assert_int_equal(check(r, "::1", "alice", RULES_CMD_UDP, "a.test", NULL, 53, where),
			 RULES_ALLOW);
	assert_int_equal(check(r, "::1", "alice", RULES_CMD_BIND, "a.test", NULL, 53, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:4");
	assert_int_equal(check(r, "::1", NULL, RULES_CMD_CONNECT, "a.test", NULL, 80, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:2");
	assert_int_equal(check(r, "::1", "bob", RULES_CMD_RESOLVE, "a.test", NULL, 0, where),
			 RULES_ALLOW);
	assert_int_equal(check(r, "::1", "bob", RULES_CMD_CONNECT, "a.test", NULL, 80, where),
			 RULES_DENY);
	assert_int_equal(check(r, "::1", "Alice", RULES_CMD_CONNECT, "a.test", NULL, 80, where),
			 RULES_DENY);
	assert_int_equal(rules_cmd_bit(0x01), RULES_CMD_CONNECT);
	assert_int_equal(rules_cmd_bit(0x03), RULES_CMD_UDP);
	assert_int_equal(rules_cmd_bit(0xF1), RULES_CMD_RESOLVE);
	assert_int_equal(rules_cmd_bit(0x09), 0);
	/* What a rule takes for an address literal rather than a name. */
	assert_int_equal(addr_parse_ip("203.0.113.2", &ss, NULL), 0);
	assert_int_equal(addr_parse_ip("2001:db8::1", &ss, NULL), 0);
	assert_int_equal(addr_parse_ip("web4.test", &ss, NULL), -EINVAL);
	assert_int_equal(addr_parse_ip("203.0.113.2.test", &ss, NULL), -EINVAL);
	rules_free(r);
}

static void test_names_and_ports(void **state)
{
	static const char *const lines[] = {"deny to .Blocked.Test.", "deny to exact.test port 22",
					    "allow to web4.test port 8000-8080",
					    "deny to web4.test", NULL};
	struct rules *r = load(lines);
	char where[64];

	assert_int_equal(check(r, "::1", NULL, 1, "blocked.test", NULL, 80, where), RULES_DENY);
	assert_int_equal(check(r, "::1", NULL, 1, "a.b.BLOCKED.test.", NULL, 80, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:1");
	assert_int_equal(check(r, "::1", NULL, 1, "notblocked.test", NULL, 80, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, "exact.test", NULL, 22, where), RULES_DENY);
	assert_int_equal(check(r, "::1", NULL, 1, "sub.exact.test", NULL, 22, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, "exact.test", NULL, 23, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, "web4.test", NULL, 8000, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, "web4.test", NULL, 8080, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, "web4.test", NULL, 8081, where), RULES_DENY);
	assert_string_equal(where, "test.conf:4");
	/* Name rules never match an address destination. */
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "203.0.113.2", 22, where), RULES_ALLOW);
	rules_free(r);
}

static void test_dest_cidr_defers_names(void **state)
{
	static const char *const lines[] = {"deny to .early.test",	  "deny to 203.0.113.0/24",
					    "allow to 2001:db8:6::2/128", "deny to .late.test",
					    "deny to 2001:db8::/32",	  NULL};
	struct rules *r = load(lines);
	char where[64];

	/* Decided before the first CIDR rule: no DNS query needed. */
	assert_int_equal(check(r, "::1", NULL, 1, "x.early.test", NULL, 80, where), RULES_DENY);
	/* Past it, a name waits for its addresses. */
	assert_int_equal(check(r, "::1", NULL, 1, "x.late.test", NULL, 80, where), RULES_DEFER);
	assert_string_equal(where, "default");
	assert_int_equal(check(r, "::1", NULL, 1, "web4.test", "203.0.113.2", 80, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:2");
	assert_int_equal(check(r, "::1", NULL, 1, "web6.test", "2001:db8:6::2", 80, where),
			 RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, "x.late.test", "2001:db8:6::3", 80, where),
			 RULES_DENY);
	assert_string_equal(where, "test.conf:4");
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "2001:db8:6::3", 80, where), RULES_DENY);
	assert_string_equal(where, "test.conf:5");
	/* Host bits in a CIDR are ignored; a v4-mapped destination is IPv4. */
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "::ffff:203.0.113.200", 80, where),
			 RULES_DENY);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "198.51.100.1", 80, where), RULES_ALLOW);
	rules_free(r);
}

static void test_cidr_odd_prefixes(void **state)
{
	static const char *const lines[] = {"deny to 198.51.100.64/26", "deny to 2001:db8:ab::/47",
					    "deny from 0.0.0.0/0 to 0.0.0.0/0 port 9", NULL};
	struct rules *r = load(lines);
	char where[64];

	assert_int_equal(check(r, "::1", NULL, 1, NULL, "198.51.100.64", 1, where), RULES_DENY);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "198.51.100.127", 1, where), RULES_DENY);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "198.51.100.128", 1, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "198.51.100.63", 1, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "2001:db8:ab:1::1", 1, where), RULES_DENY);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "2001:db8:a9::1", 1, where), RULES_ALLOW);
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "2001:db8:ac::1", 1, where), RULES_ALLOW);
	/* 0.0.0.0/0 matches every IPv4 client but no IPv6 one. */
	assert_int_equal(check(r, "127.0.0.1", NULL, 1, NULL, "203.0.113.2", 9, where), RULES_DENY);
	assert_string_equal(where, "test.conf:3");
	assert_int_equal(check(r, "::1", NULL, 1, NULL, "203.0.113.2", 9, where), RULES_ALLOW);
	rules_free(r);
}

static void test_command_line_where(void **state)
{
	struct rules *r = NULL;

	assert_int_equal(rules_new(&r), 0);
	char err[128], where[64];

	assert_int_equal(rules_add(r, "allow port 1", NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(rules_add(r, "deny   to\tweb6.test", NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(check(r, "::1", NULL, 1, "web6.test", NULL, 80, where), RULES_DENY);
	assert_string_equal(where, "--rule 2");
	rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax_errors),     cmocka_unit_test(test_empty_allows),
	    cmocka_unit_test(test_client_cidr),	      cmocka_unit_test(test_user_and_cmd),
	    cmocka_unit_test(test_names_and_ports),   cmocka_unit_test(test_dest_cidr_defers_names),
	    cmocka_unit_test(test_cidr_odd_prefixes), cmocka_unit_test(test_command_line_where),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
