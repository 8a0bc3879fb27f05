/* test_socks5.c — the SOCKS5 codec: every field, every truncation, every malformed variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "socks5.h"

/* Every proper prefix of a complete message must ask for more bytes. */
static void assert_prefixes_need_more(const uint8_t *msg, size_t len,
				      int (*parse)(const uint8_t *, size_t))
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(parse(msg, i), 0);
	assert_int_equal(parse(msg, len), (int)len);
}

static int parse_greeting(const uint8_t *b, size_t n)
{
	struct socks5_greeting g;

	return socks5_parse_greeting(b, n, &g);
}

static int parse_auth(const uint8_t *b, size_t n)
{
	struct socks5_auth a;

	return socks5_parse_auth(b, n, &a);
}

static int parse_request(const uint8_t *b, size_t n)
{
	struct socks5_request r;

	return socks5_parse_request(b, n, &r, NULL);
}

static int parse_reply(const uint8_t *b, size_t n)
{
	struct socks5_addr a;
	uint8_t rep;

	return socks5_parse_reply(b, n, &rep, &a);
}

static void test_greeting(void **state)
{
	const uint8_t msg[] = {5, 3, 0x00, 0x02, 0x80};
	struct socks5_greeting g;

	assert_int_equal(socks5_parse_greeting(msg, sizeof(msg), &g), 5);
	assert_int_equal(g.nmethods, 3);
	assert_int_equal(g.methods[0], 0x00);
	assert_int_equal(g.methods[1], 0x02);
	assert_int_equal(g.methods[2], 0x80);
	assert_prefixes_need_more(msg, sizeof(msg), parse_greeting);
}

static void test_greeting_malformed(void **state)
{
	const uint8_t v4[] = {4, 1, 0}, zero[] = {5, 0}, http[] = "GET / HTTP/1.1\r\n";
	struct socks5_greeting g;

	assert_int_equal(socks5_parse_greeting(v4, 1, &g), -EPROTO);
	assert_int_equal(socks5_parse_greeting(zero, sizeof(zero), &g), -EPROTO);
	assert_int_equal(socks5_parse_greeting(http, sizeof(http) - 1, &g), -EPROTO);
}

static void test_greeting_pipelined(void **state)
{
	const uint8_t msg[] = {5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 80, 'G', 'E', 'T'};
	struct socks5_request r;
	int n = parse_greeting(msg, sizeof(msg)), m;

	assert_int_equal(n, 3);
	m = socks5_parse_request(msg + n, sizeof(msg) - (size_t)n, &r, NULL);
	assert_int_equal(m, 10);
	assert_int_equal(sizeof(msg) - (size_t)n - (size_t)m, 3);
	assert_memory_equal(msg + n + m, "GET", 3);
}

static void test_auth(void **state)
{
	const uint8_t msg[] = {1, 3, 'b', 'o', 'b', 4, 's', 'e', 'c', 'r'};
	struct socks5_auth a;

	assert_int_equal(socks5_parse_auth(msg, sizeof(msg), &a), (int)sizeof(msg));
	assert_string_equal(a.user, "bob");
	assert_string_equal(a.pass, "secr");
	assert_prefixes_need_more(msg, sizeof(msg), parse_auth);
}

static void test_auth_malformed(void **state)
{
	const uint8_t ver5[] = {5, 1, 'a', 1, 'b'}, ulen0[] = {1, 0, 1, 'b'},
		      nul_user[] = {1, 2, 'a', 0, 1, 'b'}, nul_pass[] = {1, 1, 'a', 2, 'b', 0},
		      empty_pass[] = {1, 1, 'a', 0};
	struct socks5_auth a;

	assert_int_equal(socks5_parse_auth(ver5, sizeof(ver5), &a), -EPROTO);
	assert_int_equal(socks5_parse_auth(ulen0, sizeof(ulen0), &a), -EPROTO);
	assert_int_equal(socks5_parse_auth(nul_user, sizeof(nul_user), &a), -EPROTO);
	assert_int_equal(socks5_parse_auth(nul_pass, sizeof(nul_pass), &a), -EPROTO);
	/* An empty password parses (and then fails to match any hash). */
	assert_int_equal(socks5_parse_auth(empty_pass, sizeof(empty_pass), &a), 4);
	assert_string_equal(a.pass, "");
}

static void test_auth_max_lengths(void **state)
{
	uint8_t msg[SOCKS5_AUTH_MAX];
	char user[256], pass[256];
	struct socks5_auth a;

	memset(user, 'u', 255);
	user[255] = '\0';
	memset(pass, 'p', 255);
	pass[255] = '\0';
	assert_int_equal(socks5_build_auth(msg, user, pass), SOCKS5_AUTH_MAX);
	assert_int_equal(socks5_parse_auth(msg, sizeof(msg), &a), SOCKS5_AUTH_MAX);
	assert_string_equal(a.user, user);
	assert_string_equal(a.pass, pass);
	assert_int_equal(socks5_build_auth(msg, "", "x"), -EINVAL);
}

static void test_request_ipv4(void **state)
{
	const uint8_t msg[] = {5, 1, 0, 1, 198, 51, 100, 2, 0x1f, 0x90};
	struct socks5_request r;
	uint8_t rep = 0xee;

	assert_int_equal(socks5_parse_request(msg, sizeof(msg), &r, &rep), 10);
	assert_int_equal(rep, 0);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.dst.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(r.dst.v4.s_addr, inet_addr("198.51.100.2"));
	assert_int_equal(r.dst.port, 8080);
	assert_prefixes_need_more(msg, sizeof(msg), parse_request);
}

static void test_request_ipv6(void **state)
{
	uint8_t msg[22] = {5, 1, 0, 4};
	struct socks5_request r;
	struct in6_addr want;

	inet_pton(AF_INET6, "2001:db8:6::2", &want);
	memcpy(msg + 4, &want, 16);
	msg[20] = 0;
	msg[21] = 80;
	assert_int_equal(socks5_parse_request(msg, sizeof(msg), &r, NULL), 22);
	assert_int_equal(r.dst.atyp, SOCKS5_ATYP_IPV6);
	assert_memory_equal(&r.dst.v6, &want, 16);
	assert_int_equal(r.dst.port, 80);
	assert_prefixes_need_more(msg, sizeof(msg), parse_request);
}

static void test_request_domain(void **state)
{
	const uint8_t msg[] = {5, 1, 0, 3, 9, 'w', 'e', 'b', '6', '.', 't', 'e', 's', 't', 1, 187};
	struct socks5_request r;

	assert_int_equal(socks5_parse_request(msg, sizeof(msg), &r, NULL), (int)sizeof(msg));
	assert_int_equal(r.dst.atyp, SOCKS5_ATYP_DOMAINNAME);
	assert_string_equal(r.dst.name, "web6.test");
	assert_int_equal(r.dst.port, 443);
	assert_prefixes_need_more(msg, sizeof(msg), parse_request);
}

static void test_request_domain_max(void **state)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	struct socks5_addr dst;
	struct socks5_request r;
	char name[256];

	memset(name, 'a', 255);
	name[255] = '\0';
	assert_int_equal(socks5_addr_set_name(&dst, name, 1), 0);
	assert_int_equal(socks5_build_request(msg, SOCKS5_CMD_CONNECT, &dst), SOCKS5_REQUEST_MAX);
	assert_int_equal(socks5_parse_request(msg, sizeof(msg), &r, NULL), SOCKS5_REQUEST_MAX);
	assert_string_equal(r.dst.name, name);
	name[0] = '\0';
	assert_int_equal(socks5_addr_set_name(&dst, name, 1), -EINVAL);
}

static void test_request_malformed(void **state)
{
	const uint8_t ver4[] = {4, 1, 0, 1, 1, 2, 3, 4, 0, 80},
		      badcmd[] = {5, 9, 0, 1, 1, 2, 3, 4, 0, 80},
		      badatyp[] = {5, 1, 0, 2, 1, 2, 3, 4, 0, 80}, name0[] = {5, 1, 0, 3, 0, 0, 80},
		      name_nul[] = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80},
		      name_only_nul[] = {5, 1, 0, 3, 1, 0, 0, 80};
	struct socks5_request r;
	uint8_t rep;

	assert_int_equal(socks5_parse_request(ver4, sizeof(ver4), &r, &rep), -EPROTO);
	assert_int_equal(rep, SOCKS5_REP_GENERAL_FAILURE);
	/* Unknown CMD and ATYP are reported as soon as their byte arrives. */
	assert_int_equal(socks5_parse_request(badcmd, 2, &r, &rep), -EOPNOTSUPP);
	assert_int_equal(rep, SOCKS5_REP_CMD_NOT_SUPPORTED);
	assert_int_equal(socks5_parse_request(badatyp, 4, &r, &rep), -EAFNOSUPPORT);
	assert_int_equal(rep, SOCKS5_REP_ATYP_NOT_SUPPORTED);
	assert_int_equal(socks5_parse_request(name0, sizeof(name0), &r, &rep), -EPROTO);
	assert_int_equal(rep, SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(socks5_parse_request(name_nul, sizeof(name_nul), &r, &rep), -EPROTO);
	assert_int_equal(socks5_parse_request(name_only_nul, sizeof(name_only_nul), &r, &rep),
			 -EPROTO);
}

static void test_request_trailing_nul_and_rsv(void **state)
{
	const uint8_t nul[] = {5, 1, 0, 3, 4, 'a', '.', 'b', 0, 0, 80},
		      rsv[] = {5, 1, 0x7f, 1, 1, 2, 3, 4, 0, 80};
	struct socks5_request r;

	/* A C-string name: the terminator is not part of the name. */
	assert_int_equal(socks5_parse_request(nul, sizeof(nul), &r, NULL), (int)sizeof(nul));
	assert_string_equal(r.dst.name, "a.b");
	/* RSV carries no meaning: accepted whatever it holds. */
	assert_int_equal(socks5_parse_request(rsv, sizeof(rsv), &r, NULL), 10);
}

static void test_request_all_commands(void **state)
{
	const uint8_t cmds[] = {SOCKS5_CMD_CONNECT, SOCKS5_CMD_BIND, SOCKS5_CMD_UDP_ASSOCIATE,
				SOCKS5_CMD_RESOLVE, SOCKS5_CMD_RESOLVE_PTR};
	struct socks5_addr dst = {.atyp = SOCKS5_ATYP_IPV4, .port = 7};
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX];

	for (size_t i = 0; i < sizeof(cmds); i++) {
		int n = socks5_build_request(msg, cmds[i], &dst);

		assert_int_equal(socks5_parse_request(msg, (size_t)n, &r, NULL), n);
		assert_int_equal(r.cmd, cmds[i]);
	}
}

static void test_choice_and_auth_reply(void **state)
{
	uint8_t buf[2], m, st;

	assert_int_equal(socks5_build_choice(buf, 0x02), 2);
	assert_int_equal(socks5_parse_choice(buf, 1, &m), 0);
	assert_int_equal(socks5_parse_choice(buf, 2, &m), 2);
	assert_int_equal(m, 2);
	assert_int_equal(socks5_build_auth_reply(buf, 0), 2);
	assert_int_equal(buf[0], 1); /* RFC 1929 replies carry VER 1, not 5 */
	assert_int_equal(socks5_parse_auth_reply(buf, 2, &st), 2);
	assert_int_equal(st, 0);
	buf[0] = 5;
	assert_int_equal(socks5_parse_auth_reply(buf, 2, &st), -EPROTO);
	buf[0] = 4;
	assert_int_equal(socks5_parse_choice(buf, 2, &m), -EPROTO);
}

static void test_greeting_builder(void **state)
{
	const uint8_t methods[] = {0, 2};
	struct socks5_greeting g;
	uint8_t buf[SOCKS5_GREETING_MAX];

	assert_int_equal(socks5_build_greeting(buf, methods, 2), 4);
	assert_int_equal(socks5_parse_greeting(buf, 4, &g), 4);
	assert_int_equal(g.nmethods, 2);
	assert_int_equal(socks5_build_greeting(buf, methods, 0), -EINVAL);
}

static void test_reply_roundtrip(void **state)
{
	struct sockaddr_storage ss;
	struct socks5_addr a;
	uint8_t buf[SOCKS5_REPLY_MAX], rep;
	size_t n;

	assert_int_equal(addr_parse("[2001:db8:6::1]:40000", 0, &ss, NULL), 0);
	n = socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&ss);
	assert_int_equal(n, 22);
	assert_prefixes_need_more(buf, n, parse_reply);
	assert_int_equal(socks5_parse_reply(buf, n, &rep, &a), 22);
	assert_int_equal(rep, 0);
	assert_int_equal(a.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(a.port, 40000);

	/* A v4-mapped bound address goes out as plain IPv4. */
	assert_int_equal(addr_parse("[::ffff:198.51.100.1]:5", 0, &ss, NULL), 0);
	n = socks5_build_reply(buf, 0, (struct sockaddr *)&ss);
	assert_int_equal(n, 10);
	assert_int_equal(buf[3], SOCKS5_ATYP_IPV4);
	assert_int_equal(buf[4], 198);
	assert_int_equal(buf[9], 5);

	/* No address still makes a full 10-byte reply. */
	n = socks5_build_reply(buf, SOCKS5_REP_CONN_REFUSED, NULL);
	assert_int_equal(n, 10);
	assert_int_equal(buf[1], SOCKS5_REP_CONN_REFUSED);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[3], SOCKS5_ATYP_IPV4);
}

static void test_reply_malformed(void **state)
{
	const uint8_t ver[] = {4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, atyp[] = {5, 0, 0, 9, 0};

	assert_int_equal(parse_reply(ver, sizeof(ver)), -EPROTO);
	assert_int_equal(parse_reply(atyp, sizeof(atyp)), -EPROTO);
}

static void test_reply_name(void **state)
{
	struct socks5_addr a, b;
	uint8_t buf[SOCKS5_REPLY_MAX], rep;
	size_t n;

	socks5_addr_set_name(&a, "host.test", 0);
	n = socks5_build_reply_addr(buf, 0, &a);
	assert_int_equal(n, 3 + 1 + 1 + 9 + 2);
	assert_int_equal(socks5_parse_reply(buf, n, &rep, &b), (int)n);
	assert_string_equal(b.name, "host.test");
}

static void test_udp_header(void **state)
{
	struct socks5_udp_header h;
	struct socks5_addr dst;
	uint8_t buf[SOCKS5_UDP_HEADER_MAX + 4];
	int n;

	socks5_addr_set_name(&dst, "dns.test", 53);
	n = socks5_build_udp_header(buf, 0, &dst);
	assert_int_equal(n, 4 + 1 + 8 + 2);
	memcpy(buf + n, "data", 4);
	assert_int_equal(socks5_parse_udp_header(buf, (size_t)n + 4, &h), n);
	assert_int_equal(h.frag, 0);
	assert_string_equal(h.dst.name, "dns.test");
	assert_int_equal(h.dst.port, 53);
	for (int i = 0; i < n; i++)
		assert_int_equal(socks5_parse_udp_header(buf, (size_t)i, &h), -EPROTO);
	n = socks5_build_udp_header(buf, 3, &dst);
	assert_int_equal(socks5_parse_udp_header(buf, (size_t)n, &h), n);
	assert_int_equal(h.frag, 3);
	buf[1] = 1;
	assert_int_equal(socks5_parse_udp_header(buf, (size_t)n, &h), -EPROTO);
	buf[1] = 0;
	buf[3] = 7;
	assert_int_equal(socks5_parse_udp_header(buf, (size_t)n, &h), -EAFNOSUPPORT);
}

static void test_unliteral(void **state)
{
	struct socks5_addr a;

	socks5_addr_set_name(&a, "198.51.100.7", 80);
	socks5_addr_unliteral(&a);
	assert_int_equal(a.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(a.v4.s_addr, inet_addr("198.51.100.7"));
	assert_int_equal(a.port, 80);
	socks5_addr_set_name(&a, "2001:db8::5", 80);
	socks5_addr_unliteral(&a);
	assert_int_equal(a.atyp, SOCKS5_ATYP_IPV6);
	socks5_addr_set_name(&a, "[2001:db8::5]", 80);
	socks5_addr_unliteral(&a);
	assert_int_equal(a.atyp, SOCKS5_ATYP_IPV6);
	socks5_addr_set_name(&a, "web6.test", 80);
	socks5_addr_unliteral(&a);
	assert_int_equal(a.atyp, SOCKS5_ATYP_DOMAINNAME);
	socks5_addr_set_name(&a, "1.2.3", 80);
	socks5_addr_unliteral(&a);
	assert_int_equal(a.atyp, SOCKS5_ATYP_DOMAINNAME);
}

static void test_addr_conversions(void **state)
{
	struct sockaddr_storage ss;
	struct socks5_addr a;
	char buf[300];

	assert_int_equal(addr_parse("203.0.113.2:443", 0, &ss, NULL), 0);
	assert_int_equal(socks5_addr_from_sockaddr(&a, (struct sockaddr *)&ss), 0);
	assert_string_equal(socks5_addr_format(&a, buf, sizeof(buf)), "203.0.113.2:443");
	socks5_addr_set_name(&a, "x.test", 8);
	assert_int_equal(socks5_addr_to_sockaddr(&a, &ss, NULL), -EAFNOSUPPORT);
	assert_string_equal(socks5_addr_format(&a, buf, sizeof(buf)), "x.test:8");
	ss.ss_family = AF_UNIX;
	assert_int_equal(socks5_addr_from_sockaddr(&a, (struct sockaddr *)&ss), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting),
	    cmocka_unit_test(test_greeting_malformed),
	    cmocka_unit_test(test_greeting_pipelined),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_auth_malformed),
	    cmocka_unit_test(test_auth_max_lengths),
	    cmocka_unit_test(test_request_ipv4),
	    cmocka_unit_test(test_request_ipv6),
	    cmocka_unit_test(test_request_domain),
	    cmocka_unit_test(test_request_domain_max),
	    cmocka_unit_test(test_request_malformed),
	    cmocka_unit_test(test_request_trailing_nul_and_rsv),
	    cmocka_unit_test(test_request_all_commands),
	    cmocka_unit_test(test_choice_and_auth_reply),
	    cmocka_unit_test(test_greeting_builder),
	    cmocka_unit_test(test_reply_roundtrip),
	    cmocka_unit_test(test_reply_malformed),
	    cmocka_unit_test(test_reply_name),
	    cmocka_unit_test(test_udp_header),
	    cmocka_unit_test(test_unliteral),
	    cmocka_unit_test(test_addr_conversions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
