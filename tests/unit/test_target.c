/* test_target.c — what the gateway is asked for: fake names, pseudo-names, NAT64, mapped, plain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fakeip.h"
#include "agent/target.h"
#include "literal.h"
#include "nat64.h"
#include "socks5.h"

struct ctx {
	struct fakeip *table;
	struct fakeip_config fc;
	struct target_config tc;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fakeip_config_default(&c->fc);
	assert_int_equal(fakeip_open(&c->table, &c->fc), 0);
	c->tc.literal_suffix = LITERAL_SUFFIX_DEFAULT;
	assert_int_equal(nat64_prefix_parse(NAT64_WKP, &c->tc.nat64[0]), 0);
	assert_int_equal(nat64_prefix_parse("2001:db8:64::/64", &c->tc.nat64[1]), 0);
	c->tc.nnat64 = 2;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fakeip_close(c->table);
	free(c);
	return 0;
}

/* target_of for addr:port; returns its result, *fake and the formatted target in out. */
static int target(struct ctx *c, const char *addr, uint16_t port, bool *fake, char *out)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct socks5_addr t;
	int rc;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
	rc = target_of(&c->tc, c->table, &c->fc, (struct sockaddr *)&ss, &t, fake);
	if (!rc)
		socks5_addr_format(&t, out, 300);
	return rc;
}

/* The fake IPv4 address the table gives name, as text. */
static void fake4(struct ctx *c, const char *name, char *out)
{
	struct in_addr a;

	assert_int_equal(fakeip_lookup_name(c->table, name, AF_INET, &a, 1000), 0);
	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static void test_fake_names(void **state)
{
	struct ctx *c = *state;
	char a[INET_ADDRSTRLEN], out[300];
	bool fake;

	fake4(c, "web6.test", a);
	assert_int_equal(target(c, a, 80, &fake, out), 0);
	assert_true(fake);
	assert_string_equal(out, "web6.test:80");
	/* The pseudo-name becomes its IPv6 address: the gateway knows nothing of the convention. */
	fake4(c, "2001-db8-6--2.ipv6-literal.net", a);
	assert_int_equal(target(c, a, 80, &fake, out), 0);
	assert_true(fake);
	assert_string_equal(out, "[2001:db8:6::2]:80");
	fake4(c, "--ffff-cb00-7102.ipv6-literal.net", a);
	assert_int_equal(target(c, a, 443, &fake, out), 0);
	assert_string_equal(out, "203.0.113.2:443");
	fake4(c, "fe80--1s2.ipv6-literal.net", a);
	assert_int_equal(target(c, a, 80, &fake, out), -EINVAL);
	/* A fake address nobody asked for. */
	assert_int_equal(target(c, "198.19.255.254", 80, &fake, out), -ENOENT);
	/* Without a suffix the name goes as it is. */
	fake4(c, "2001-db8-6--2.ipv6-literal.net", a);
	c->tc.literal_suffix = NULL;
	assert_int_equal(target(c, a, 80, &fake, out), 0);
	assert_string_equal(out, "2001-db8-6--2.ipv6-literal.net:80");
}

static void test_nat64_and_mapped(void **state)
{
	struct ctx *c = *state;
	char out[300];
	bool fake;

	assert_int_equal(target(c, "64:ff9b::203.0.113.2", 80, &fake, out), 0);
	assert_false(fake);
	assert_string_equal(out, "203.0.113.2:80");
	assert_int_equal(target(c, "2001:db8:64:0:cb:71:200:0", 8080, &fake, out), 0);
	assert_string_equal(out, "203.0.113.2:8080");
	/* A set u octet embeds nothing: the address goes as it is. */
	assert_int_equal(target(c, "2001:db8:64:0:1cb:71:200:0", 80, &fake, out), 0);
	assert_string_equal(out, "[2001:db8:64:0:1cb:71:200:0]:80");
	assert_int_equal(target(c, "::ffff:203.0.113.2", 80, &fake, out), 0);
	assert_string_equal(out, "203.0.113.2:80");
	assert_int_equal(target(c, "2001:db8:6::2", 80, &fake, out), 0);
	assert_string_equal(out, "[2001:db8:6::2]:80");
	assert_int_equal(target(c, "203.0.113.9", 22, &fake, out), 0);
	assert_string_equal(out, "203.0.113.9:22");
	/* No prefixes: NAT64 addresses are IPv6 addresses like any other. */
	c->tc.nnat64 = 0;
	assert_int_equal(target(c, "64:ff9b::203.0.113.2", 80, &fake, out), 0);
	assert_string_equal(out, "[64:ff9b::cb00:7102]:80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fake_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nat64_and_mapped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
