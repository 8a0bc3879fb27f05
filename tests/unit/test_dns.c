/* test_dns.c — the DNS codec: query parsing and its errors, reply building, truncation, framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "dnsq.h"

static void test_parse_simple_query(void **state)
{
	uint8_t buf[512];
	struct dns_query q;
	size_t len = dnsq_build(buf, 0xbeef, "WeB6.Test.", DNS_TYPE_AAAA, 0);

	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	assert_int_equal(q.hdr.id, 0xbeef);
	assert_string_equal(q.name, "web6.test");
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_true(q.plain);
	assert_false(q.edns);
	assert_int_equal(q.udp_size, 512);
	/* The wire name keeps the case the client asked with. */
	assert_memory_equal(q.qname, "\x04WeB6\x04Test", 10);
}

static void test_parse_edns(void **state)
{
	uint8_t buf[512];
	struct dns_query q;
	size_t len = dnsq_build(buf, 0xbeef, "a.example", DNS_TYPE_A, 4096);

	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(q.udp_size, DNS_UDP_MAX);
	len = dnsq_build(buf, 0xbeef, "a.example", DNS_TYPE_A, 100);
	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	assert_int_equal(q.udp_size, 512);
}

static void test_parse_errors(void **state)
{
	uint8_t buf[600];
	struct dns_query q;
	size_t len = dnsq_build(buf, 0xbeef, "a.example", DNS_TYPE_A, 0);

	assert_int_equal(dns_parse_query(buf, 11, &q), -EMSGSIZE);
	/* Truncated question. */
	assert_int_equal(dns_parse_query(buf, len - 1, &q), -EBADMSG);
	assert_int_equal(q.hdr.id, 0xbeef);
	/* Trailing garbage. */
	assert_int_equal(dns_parse_query(buf, len + 1, &q), -EBADMSG);
	/* Two questions announced, one present. */
	dns_put16(buf + 4, 2);
	assert_int_equal(dns_parse_query(buf, len, &q), -EBADMSG);
	dns_put16(buf + 4, 0);
	assert_int_equal(dns_parse_query(buf, len, &q), -EBADMSG);
	dns_put16(buf + 4, 1);
	/* A response is not a query. */
	dns_put16(buf + 2, DNS_FLAG_QR);
	assert_int_equal(dns_parse_query(buf, len, &q), -EINVAL);
	/* NOTIFY (opcode 4). */
	dns_put16(buf + 2, 4 << 11);
	assert_int_equal(dns_parse_query(buf, len, &q), -EOPNOTSUPP);
	dns_put16(buf + 2, 0);
	/* A record announced in the additional section but absent. */
	dns_put16(buf + 10, 1);
	assert_int_equal(dns_parse_query(buf, len, &q), -EBADMSG);
	dns_put16(buf + 10, 0);
	/* Label type 0x40. */
	buf[DNS_HDR_LEN] = 0x41;
	assert_int_equal(dns_parse_query(buf, len, &q), -EBADMSG);
}

static void test_parse_pointer_loop_and_forward(void **state)
{
	uint8_t buf[64] = {0};
	struct dns_query q;

	dns_put16(buf + 4, 1);
	/* The question name points at itself. */
	buf[12] = 0xc0;
	buf[13] = 12;
	dns_put16(buf + 14, 1);
	dns_put16(buf + 16, 1);
	assert_int_equal(dns_parse_query(buf, 18, &q), -EBADMSG);
	/* Pointing forwards is refused too. */
	buf[13] = 14;
	assert_int_equal(dns_parse_query(buf, 18, &q), -EBADMSG);
	/* Pointer running off the end. */
	assert_int_equal(dns_parse_query(buf, 13, &q), -EBADMSG);
}

static void test_parse_long_name(void **state)
{
	uint8_t buf[600] = {0};
	struct dns_query q;
	size_t off = DNS_HDR_LEN;

	dns_put16(buf + 4, 1);
	/* 5 labels of 63 = 320 bytes > 255. */
	for (int i = 0; i < 5; i++) {
		buf[off++] = 63;
		memset(buf + off, 'a', 63);
		off += 63;
	}
	buf[off++] = 0;
	dns_put16(buf + off, 1);
	dns_put16(buf + off + 2, 1);
	off += 4;
	assert_int_equal(dns_parse_query(buf, off, &q), -EBADMSG);
}

static void test_parse_odd_label_not_plain(void **state)
{
	uint8_t buf[64] = {0};
	struct dns_query q;
	static const uint8_t name[] = "\x03"
				      "a.b\x07"
				      "example";

	dns_put16(buf + 4, 1);
	memcpy(buf + 12, name, sizeof(name));
	dns_put16(buf + 12 + sizeof(name), 1);
	dns_put16(buf + 14 + sizeof(name), 1);
	assert_int_equal(dns_parse_query(buf, 16 + sizeof(name), &q), 0);
	assert_false(q.plain);
	assert_string_equal(q.name, "a\\046b.example");
}

static void test_build_reply_answer(void **state)
{
	uint8_t buf[512], out[512];
	struct dns_query q, r;
	uint8_t a[4] = {198, 18, 0, 7};
	struct dns_rr rr = {.type = DNS_TYPE_A, .ttl = 300, .rdata = a, .rdlen = 4};
	size_t len = dnsq_build(buf, 0xbeef, "Web4.test", DNS_TYPE_A, 1232);
	int n;

	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	n = dns_build_reply(out, sizeof(out), q.udp_size, &q, DNS_RCODE_NOERROR, &rr, 1);
	assert_true(n > 0);
	assert_int_equal(dns_get16(out), 0xbeef);
	assert_int_equal(dns_get16(out + 2),
			 DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_RCODE_NOERROR);
	assert_int_equal(dns_get16(out + 4), 1);
	assert_int_equal(dns_get16(out + 6), 1);
	assert_int_equal(dns_get16(out + 10), 1);
	/* The question is echoed byte for byte, case included. */
	assert_memory_equal(out + 12, buf + 12, q.qname_len + 4);
	assert_true(dns_answer_matches(out, (size_t)n, &q));
	/* Answer: pointer to the question, A, IN, TTL 300, 4 bytes. */
	const uint8_t *p = out + 12 + q.qname_len + 4;

	assert_int_equal(dns_get16(p), 0xc00c);
	assert_int_equal(dns_get16(p + 2), DNS_TYPE_A);
	assert_int_equal(dns_get16(p + 8), 300);
	assert_int_equal(dns_get16(p + 10), 4);
	assert_memory_equal(p + 12, a, 4);
	/* OPT at the end, DO copied. */
	assert_int_equal(dns_get16(p + 16 + 1), DNS_TYPE_OPT);
	assert_int_equal(p[16 + 7], 0x80);
	assert_int_equal((size_t)n, (size_t)(p - out) + 16 + 11);
	/* A reply is not a query. */
	assert_int_equal(dns_parse_query(out, (size_t)n, &r), -EINVAL);
}

/* Three 255-byte TXT records in rr, all pointing at big: more than 512 bytes together. */
static void big_txt(struct dns_rr rr[3], uint8_t big[255])
{
	memset(big, 'x', 255);
	for (int i = 0; i < 3; i++)
		rr[i] = (struct dns_rr){.type = DNS_TYPE_TXT, .ttl = 1, .rdata = big, .rdlen = 255};
}

static void test_build_reply_truncates(void **state)
{
	uint8_t buf[512], out[1024];
	uint8_t big[255];
	struct dns_query q;
	struct dns_rr rr[3];
	size_t len = dnsq_build(buf, 0xbeef, "t.example", DNS_TYPE_TXT, 0);
	int n;

	big_txt(rr, big);
	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	n = dns_build_reply(out, sizeof(out), q.udp_size, &q, 0, rr, 3);
	assert_true(n > 0 && n <= 512);
	assert_true(dns_get16(out + 2) & DNS_FLAG_TC);
	assert_int_equal(dns_get16(out + 6), 0);
	/* Over TCP everything fits. */
	n = dns_build_reply(out, sizeof(out), DNS_TCP_MAX, &q, 0, rr, 3);
	assert_false(dns_get16(out + 2) & DNS_FLAG_TC);
	assert_int_equal(dns_get16(out + 6), 3);
	assert_int_equal(dns_build_reply(out, 10, 10, &q, 0, NULL, 0), -ENOBUFS);
}

static void test_truncate_upstream_answer(void **state)
{
	uint8_t buf[512], out[1024];
	uint8_t big[255];
	struct dns_query q;
	struct dns_rr rr[3];
	size_t len = dnsq_build(buf, 0xbeef, "t.example", DNS_TYPE_TXT, 600);
	int n, m;

	big_txt(rr, big);
	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	n = dns_build_reply(out, sizeof(out), DNS_TCP_MAX, &q, 0, rr, 3);
	assert_true(n > 600);
	assert_int_equal(dns_truncate(out, (size_t)n, 2000), n);
	m = dns_truncate(out, (size_t)n, 600);
	assert_true(m > 0 && m <= 600);
	assert_true(dns_get16(out + 2) & DNS_FLAG_TC);
	assert_int_equal(dns_get16(out + 6), 0);
	/* The OPT record survives the cut. */
	assert_int_equal(dns_get16(out + 10), 1);
	assert_int_equal(dns_get16(out + m - 11 + 1), DNS_TYPE_OPT);
	assert_true(dns_answer_matches(out, (size_t)m, &q));
}

static void test_header_reply(void **state)
{
	struct dns_header h = {.id = 0x1234, .flags = DNS_FLAG_RD};
	uint8_t out[12];

	assert_int_equal(dns_build_header_reply(out, sizeof(out), &h, DNS_RCODE_FORMERR), 12);
	assert_int_equal(dns_get16(out), 0x1234);
	assert_int_equal(dns_get16(out + 2),
			 DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_RCODE_FORMERR);
	assert_int_equal(dns_get16(out + 4), 0);
}

static void test_tcp_frame(void **state)
{
	uint8_t b[8] = {0, 3, 'a', 'b', 'c', 0, 0};
	size_t n = 0;

	assert_int_equal(dns_tcp_frame(b, 1, &n), 0);
	assert_int_equal(dns_tcp_frame(b, 4, &n), 0);
	assert_int_equal(dns_tcp_frame(b, 5, &n), 1);
	assert_int_equal(n, 3);
	assert_int_equal(dns_tcp_frame(b + 5, 2, &n), -EBADMSG);
}

static void test_read_name_compressed(void **state)
{
	/* "example" at 12, then "www" + pointer to 12. */
	uint8_t b[64] = {0};
	char out[DNS_NAME_TEXT_MAX];
	size_t off = 12;

	memcpy(b + 12,
	       "\x07"
	       "EXAMPLE\x00",
	       9);
	memcpy(b + 21,
	       "\x03"
	       "www\xc0\x0c",
	       6);
	assert_int_equal(dns_read_name(b, sizeof(b), &off, out, sizeof(out), true), 0);
	assert_string_equal(out, "example");
	off = 21;
	assert_int_equal(dns_read_name(b, sizeof(b), &off, out, sizeof(out), false), 0);
	assert_string_equal(out, "www.EXAMPLE");
	assert_int_equal(off, 27);
}

static void test_encode_name(void **state)
{
	uint8_t w[300];
	char l64[80];

	assert_int_equal(dns_encode_name("a.bc.", w, sizeof(w)), 6);
	assert_memory_equal(w,
			    "\x01"
			    "a\x02"
			    "bc\x00",
			    6);
	assert_int_equal(dns_encode_name("", w, sizeof(w)), 1);
	assert_int_equal(dns_encode_name("a..b", w, sizeof(w)), -EINVAL);
	memset(l64, 'a', 64);
	l64[64] = 0;
	assert_int_equal(dns_encode_name(l64, w, sizeof(w)), -EINVAL);
	assert_int_equal(dns_encode_name("abc", w, 3), -EINVAL);
}

static void test_reverse(void **state)
{
	uint8_t a4[4] = {198, 18, 0, 7}, a6[16], back[16];
	char name[128];

	assert_int_equal(dns_reverse_name(AF_INET, a4, name, sizeof(name)), 0);
	assert_string_equal(name, "7.0.18.198.in-addr.arpa");
	assert_int_equal(dns_parse_reverse(name, back), AF_INET);
	assert_memory_equal(back, a4, 4);
	inet_pton(AF_INET6, "2001:2::1:ab", a6);
	assert_int_equal(dns_reverse_name(AF_INET6, a6, name, sizeof(name)), 0);
	assert_int_equal(strncmp(name, "b.a.0.0.1.0.0.0.", 16), 0);
	assert_int_equal(dns_parse_reverse(name, back), AF_INET6);
	assert_memory_equal(back, a6, 16);
	assert_int_equal(dns_parse_reverse("18.198.in-addr.arpa", back), -EINVAL);
	assert_int_equal(dns_parse_reverse("07.0.18.198.in-addr.arpa", back), -EINVAL);
	assert_int_equal(dns_parse_reverse("256.0.18.198.in-addr.arpa", back), -EINVAL);
	assert_int_equal(dns_parse_reverse("example.com", back), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_simple_query),
	    cmocka_unit_test(test_parse_edns),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_pointer_loop_and_forward),
	    cmocka_unit_test(test_parse_long_name),
	    cmocka_unit_test(test_parse_odd_label_not_plain),
	    cmocka_unit_test(test_build_reply_answer),
	    cmocka_unit_test(test_build_reply_truncates),
	    cmocka_unit_test(test_truncate_upstream_answer),
	    cmocka_unit_test(test_header_reply),
	    cmocka_unit_test(test_tcp_frame),
	    cmocka_unit_test(test_read_name_compressed),
	    cmocka_unit_test(test_encode_name),
	    cmocka_unit_test(test_reverse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
