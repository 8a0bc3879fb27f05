/* test_dnsd.c — the DNS responder over loopback: fake answers, forwarding, errors, TCP, the hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "agent/dnsd.h"
#include "agent/fakeip.h"
#include "dns.h"
#include "dnsq.h"
#include "ev.h"

/* A scripted upstream resolver on loopback, UDP and TCP on one port. */
struct upstream {
	int udp, tcp, conn;
	bool silent;
	unsigned seen;
	uint8_t last_query[1024];
	size_t last_len;
};

struct ctx {
	struct ev_loop *loop;
	struct fakeip *table;
	struct dnsd *d;
	struct dnsd_config cfg;
	struct upstream up;
	struct ev_timer guard;
	bool timed_out;
	uint8_t ans[4096];
	size_t ans_len;
	const char *no_fake[3];
	/* existence hook */
	dnsd_exists_done_fn *done;
	void *done_ctx;
	int cancels;
	unsigned exists_calls;
};

static const uint8_t up_addr[4] = {203, 0, 113, 80};

/* Answers a query with one A record 203.0.113.80 (same ID, question echoed). */
static size_t upstream_answer(const uint8_t *q, size_t len, uint8_t *out)
{
	static uint8_t big[255];
	struct dns_query pq;
	struct dns_rr rr[3] = {{.type = DNS_TYPE_A, .ttl = 42, .rdata = up_addr, .rdlen = 4}};
	size_t nrr = 1;
	int n;

	if (dns_parse_query(q, len, &pq))
		return 0;
	/* TXT gets an answer too long for a plain UDP client. */
	if (pq.qtype == DNS_TYPE_TXT) {
		memset(big, 'x', sizeof(big));
		for (nrr = 0; nrr < 3; nrr++)
			rr[nrr] = (struct dns_rr){
			    .type = DNS_TYPE_TXT, .ttl = 1, .rdata = big, .rdlen = sizeof(big)};
	}
	n = dns_build_reply(out, 1024, DNS_TCP_MAX, &pq, 0, rr, nrr);
	return n > 0 ? (size_t)n : 0;
}

static void upstream_udp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct upstream *u = arg;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	uint8_t out[1024];
	ssize_t n =
	    recvfrom(fd, u->last_query, sizeof(u->last_query), 0, (struct sockaddr *)&from, &fl);
	size_t m;

	if (n <= 0)
		return;
	u->seen++;
	u->last_len = (size_t)n;
	if (u->silent)
		return;
	m = upstream_answer(u->last_query, (size_t)n, out);
	/* A spoofed answer with the wrong ID first: must be ignored. */
	dns_put16(out, (uint16_t)(dns_get16(out) + 1));
	sendto(fd, out, m, 0, (struct sockaddr *)&from, fl);
	dns_put16(out, (uint16_t)(dns_get16(out) - 1));
	sendto(fd, out, m, 0, (struct sockaddr *)&from, fl);
}

static void upstream_conn_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct upstream *u = arg;
	uint8_t in[1024], out[1026];
	ssize_t n = recv(fd, in, sizeof(in), 0);
	size_t m, ml;

	if (n <= 0 || dns_tcp_frame(in, (size_t)n, &ml) != 1) {
		ev_io_del(loop, fd);
		close(fd);
		return;
	}
	u->seen++;
	m = upstream_answer(in + 2, ml, out + 2);
	dns_tcp_prefix(out, m);
	send(fd, out, m + 2, MSG_NOSIGNAL);
}

static void upstream_accept_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c >= 0)
		ev_io_add(loop, c, EV_READ, upstream_conn_cb, arg);
}

static void upstream_start(struct ctx *c)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(sin);
	int one = 1, tries = 0;

	/* The UDP port picked may be taken for TCP: try until both bind. */
	for (;;) {
		sin.sin_port = 0;
		c->up.udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_int_equal(bind(c->up.udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
		getsockname(c->up.udp, (struct sockaddr *)&sin, &l);
		c->up.tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(c->up.tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(c->up.tcp, (struct sockaddr *)&sin, sizeof(sin)))
			break;
		close(c->up.udp);
		close(c->up.tcp);
		assert_true(++tries < 50);
	}
	assert_int_equal(listen(c->up.tcp, 8), 0);
	ev_io_add(c->loop, c->up.udp, EV_READ, upstream_udp_cb, &c->up);
	ev_io_add(c->loop, c->up.tcp, EV_READ, upstream_accept_cb, &c->up);
	memcpy(&c->cfg.upstream, &sin, sizeof(sin));
}

static int setup_with(void **state, const char *pool4)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct fakeip_config fc;

	assert_int_equal(ev_loop_new(&c->loop), 0);
	fakeip_config_default(&fc);
	if (pool4)
		assert_int_equal(fakeip_config_set_pool(&fc, pool4), 0);
	assert_int_equal(fakeip_open(&c->table, &fc), 0);
	dnsd_config_default(&c->cfg);
	c->cfg.ttl_s = 77;
	c->cfg.timeout_ms = 300;
	c->no_fake[0] = "corp.example";
	c->cfg.no_fake = c->no_fake;
	upstream_start(c);
	*state = c;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

static int setup_tiny(void **state)
{
	return setup_with(state, "198.51.100.0/30");
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	dnsd_free(c->d);
	fakeip_close(c->table);
	ev_io_del(c->loop, c->up.udp);
	ev_io_del(c->loop, c->up.tcp);
	close(c->up.udp);
	close(c->up.tcp);
	ev_loop_free(c->loop);
	free(c);
	return 0;
}

static void start(struct ctx *c)
{
	assert_int_equal(dnsd_new(&c->d, c->loop, &c->cfg, c->table), 0);
	assert_true(dnsd_port(c->d) > 0);
}

static void guard_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct ctx *c = container_of(t, struct ctx, guard);

	c->timed_out = true;
	ev_stop(loop);
}

static void client_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct ctx *c = arg;
	ssize_t n = recv(fd, c->ans, sizeof(c->ans), MSG_DONTWAIT);

	if (n > 0) {
		c->ans_len = (size_t)n;
		ev_stop(loop);
	}
}

/* Runs the loop until fd is readable (its bytes land in c->ans) or ms pass. */
static int run_until_reply(struct ctx *c, int fd, unsigned ms)
{
	c->timed_out = false;
	c->ans_len = 0;
	ev_timer_init(&c->guard, guard_cb);
	ev_timer_start(c->loop, &c->guard, ms);
	ev_io_add(c->loop, fd, EV_READ, client_cb, c);
	ev_run(c->loop);
	ev_io_del(c->loop, fd);
	ev_timer_stop(c->loop, &c->guard);
	return c->timed_out ? -ETIMEDOUT : (int)c->ans_len;
}

static int client_socket(struct ctx *c, int type)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(dnsd_port(c->d))};
	int fd = socket(AF_INET, type, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static int udp_roundtrip(struct ctx *c, const uint8_t *q, size_t len, unsigned ms)
{
	int fd = client_socket(c, SOCK_DGRAM), n;

	assert_int_equal(send(fd, q, len, 0), (ssize_t)len);
	n = run_until_reply(c, fd, ms);
	close(fd);
	return n;
}

/* The first answer's rdata of a reply to a query for name (uncompressed question). */
static const uint8_t *first_rdata(const uint8_t *ans, const char *name, uint16_t *type,
				  uint32_t *ttl, uint16_t *rdlen)
{
	const uint8_t *p = ans + DNS_HDR_LEN + strlen(name) + 2 + 4;

	assert_int_equal(dns_get16(p), 0xc00c);
	*type = dns_get16(p + 2);
	*ttl = (uint32_t)dns_get16(p + 6) << 16 | dns_get16(p + 8);
	*rdlen = dns_get16(p + 10);
	return p + 12;
}

static void test_a_gets_fake_ipv4(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len = dnsq_build(q, 0x4242, "web6.test", DNS_TYPE_A, 0);
	const uint8_t *rd;
	uint16_t type, rdlen;
	uint32_t ttl;
	struct dns_query pq;
	struct dnsd_stats st;

	start(c);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans), 0x4242);
	assert_int_equal(dns_get16(c->ans + 2), DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA);
	assert_int_equal(dns_get16(c->ans + 6), 1);
	assert_int_equal(dns_parse_query(q, len, &pq), 0);
	assert_true(dns_answer_matches(c->ans, c->ans_len, &pq));
	rd = first_rdata(c->ans, "web6.test", &type, &ttl, &rdlen);
	assert_int_equal(type, DNS_TYPE_A);
	assert_int_equal(ttl, 77);
	assert_int_equal(rdlen, 4);
	assert_true(fakeip_in_pool(fakeip_get_config(c->table), AF_INET, rd));
	/* The table knows the mapping; nothing went upstream. */
	char name[256];

	assert_int_equal(fakeip_lookup_addr(c->table, AF_INET, rd, name, sizeof(name)), 0);
	assert_string_equal(name, "web6.test");
	assert_int_equal(c->up.seen, 0);
	dnsd_get_stats(c->d, &st);
	assert_int_equal(st.queries, 1);
	assert_int_equal(st.faked, 1);
}

static void test_aaaa_gets_fake_ipv6_with_edns(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len = dnsq_build(q, 7, "Web4.Test", DNS_TYPE_AAAA, 1232);
	const uint8_t *rd;
	uint16_t type, rdlen;
	uint32_t ttl;

	start(c);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	rd = first_rdata(c->ans, "web4.test", &type, &ttl, &rdlen);
	assert_int_equal(type, DNS_TYPE_AAAA);
	assert_int_equal(rdlen, 16);
	assert_true(fakeip_in_pool(fakeip_get_config(c->table), AF_INET6, rd));
	/* The question keeps the client's case; the OPT record is echoed last. */
	assert_memory_equal(c->ans + 12, q + 12, 11 + 4);
	assert_int_equal(dns_get16(c->ans + 10), 1);
	assert_int_equal(dns_get16(c->ans + c->ans_len - 11 + 1), DNS_TYPE_OPT);
}

static void test_excluded_and_other_types_forwarded(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len;
	const uint8_t *rd;
	uint16_t type, rdlen;
	uint32_t ttl;
	struct dnsd_stats st;

	start(c);
	len = dnsq_build(q, 0x1111, "intra.corp.example", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans), 0x1111);
	rd = first_rdata(c->ans, "intra.corp.example", &type, &ttl, &rdlen);
	assert_memory_equal(rd, up_addr, 4);
	assert_int_equal(ttl, 42);
	/* Our upstream query used its own ID. */
	assert_int_not_equal(dns_get16(c->up.last_query), 0x1111);
	len = dnsq_build(q, 0x2222, "web6.test", DNS_TYPE_MX, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans), 0x2222);
	/* HTTPS records of a faked name would leak real address hints: NODATA here. */
	len = dnsq_build(q, 0x2223, "web6.test", DNS_TYPE_HTTPS, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans), 0x2223);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_NOERROR);
	assert_int_equal(dns_get16(c->ans + 6), 0);
	len = dnsq_build(q, 0x3333, "printer", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	len = dnsq_build(q, 0x3334, "box.local", DNS_TYPE_AAAA, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(c->up.seen, 4);
	dnsd_get_stats(c->d, &st);
	assert_int_equal(st.forwarded, 4);
	assert_int_equal(st.faked, 0);
}

static void test_long_upstream_answer_truncated(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len = dnsq_build(q, 0x7777, "big.example", DNS_TYPE_TXT, 0);
	int n;

	start(c);
	n = udp_roundtrip(c, q, len, 2000);
	assert_true(n > 0 && n <= 512);
	assert_int_equal(dns_get16(c->ans), 0x7777);
	assert_true(dns_get16(c->ans + 2) & DNS_FLAG_TC);
	assert_int_equal(dns_get16(c->ans + 6), 0);
	/* Over TCP the whole answer comes through. */
	int fd = client_socket(c, SOCK_STREAM);
	uint8_t framed[600];

	dns_tcp_prefix(framed, len);
	memcpy(framed + 2, q, len);
	assert_int_equal(send(fd, framed, len + 2, 0), (ssize_t)(len + 2));
	size_t got = 0, ml = 0;
	uint8_t all[2048];

	while (dns_tcp_frame(all, got, &ml) != 1) {
		n = run_until_reply(c, fd, 2000);
		assert_true(n > 0 && got + (size_t)n <= sizeof(all));
		memcpy(all + got, c->ans, (size_t)n);
		got += (size_t)n;
	}
	assert_true(ml > 512);
	assert_false(dns_get16(all + 4) & DNS_FLAG_TC);
	assert_int_equal(dns_get16(all + 2 + 6), 3);
	close(fd);
}

static void test_upstream_timeout_servfail(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len = dnsq_build(q, 0x5555, "x.corp.example", DNS_TYPE_A, 0);

	c->up.silent = true;
	start(c);
	assert_true(udp_roundtrip(c, q, len, 3000) > 0);
	assert_int_equal(dns_get16(c->ans), 0x5555);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_SERVFAIL);
	assert_int_equal(c->up.seen, 1);
}

static void test_malformed(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len = dnsq_build(q, 0x6666, "web6.test", DNS_TYPE_A, 0);
	struct dnsd_stats st;

	start(c);
	/* Question cut short: FORMERR with the ID. */
	assert_int_equal(udp_roundtrip(c, q, len - 3, 2000), 12);
	assert_int_equal(dns_get16(c->ans), 0x6666);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_FORMERR);
	/* Not even a header: dropped. */
	assert_int_equal(udp_roundtrip(c, q, 5, 300), -ETIMEDOUT);
	/* A response sent to us: dropped. */
	dns_put16(q + 2, DNS_FLAG_QR);
	assert_int_equal(udp_roundtrip(c, q, len, 300), -ETIMEDOUT);
	/* Unknown opcode: NOTIMP. */
	dns_put16(q + 2, 2 << 11);
	assert_int_equal(udp_roundtrip(c, q, len, 2000), 12);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_NOTIMP);
	dnsd_get_stats(c->d, &st);
	assert_int_equal(st.formerr, 1);
	/* Still answering. */
	len = dnsq_build(q, 0x6667, "web6.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 12);
}

static void test_ptr_for_fake_address(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512], a[4];
	char rev[128];
	size_t len;
	uint16_t type, rdlen;
	uint32_t ttl;
	const uint8_t *rd;

	start(c);
	assert_int_equal(fakeip_lookup_name(c->table, "web6.test", AF_INET, a, 1), 0);
	dns_reverse_name(AF_INET, a, rev, sizeof(rev));
	len = dnsq_build(q, 9, rev, DNS_TYPE_PTR, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	rd = first_rdata(c->ans, rev, &type, &ttl, &rdlen);
	assert_int_equal(type, DNS_TYPE_PTR);
	assert_int_equal(rdlen, 11);
	assert_memory_equal(rd, "\x04web6\x04test", 11);
	/* A pool address without an entry: NXDOMAIN, without asking upstream. */
	a[3] ^= 0x55;
	dns_reverse_name(AF_INET, a, rev, sizeof(rev));
	len = dnsq_build(q, 10, rev, DNS_TYPE_PTR, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_NXDOMAIN);
	assert_int_equal(c->up.seen, 0);
}

static void test_exhaustion_servfail(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len;

	start(c);
	len = dnsq_build(q, 1, "a.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	len = dnsq_build(q, 2, "b.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_NOERROR);
	len = dnsq_build(q, 3, "c.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_SERVFAIL);
	assert_int_equal(dns_get16(c->ans + 6), 0);
}

static void test_tcp_pipelined_and_forwarded(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[2048], q[512];
	size_t len, off = 0, ml;
	int fd, got = 0;
	uint16_t ids[3] = {0};

	start(c);
	fd = client_socket(c, SOCK_STREAM);
	/* Three queries in one write: two faked, one forwarded over TCP. */
	const char *names[3] = {"web6.test", "x.corp.example", "dual.test"};

	for (int i = 0; i < 3; i++) {
		len = dnsq_build(q, (uint16_t)(100 + i), names[i], DNS_TYPE_A, 0);
		dns_tcp_prefix(buf + off, len);
		memcpy(buf + off + 2, q, len);
		off += 2 + len;
	}
	assert_int_equal(send(fd, buf, off, 0), (ssize_t)off);
	shutdown(fd, SHUT_WR); /* half-close: answers must still come */
	off = 0;
	while (got < 3) {
		int n = run_until_reply(c, fd, 2000);

		assert_true(n > 0);
		memcpy(buf + off, c->ans, (size_t)n);
		off += (size_t)n;
		while (dns_tcp_frame(buf, off, &ml) == 1) {
			assert_true(got < 3);
			ids[got++] = dns_get16(buf + 2);
			memmove(buf, buf + 2 + ml, off - 2 - ml);
			off -= 2 + ml;
		}
	}
	/* All three IDs answered (in any order), and the server then closed. */
	assert_int_equal(ids[0] + ids[1] + ids[2], 100 + 101 + 102);
	assert_int_equal(c->up.seen, 1);
	assert_int_equal(run_until_reply(c, fd, 300), -ETIMEDOUT);
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
	close(fd);
}

static int exists_hook(void *arg, const char *name, dnsd_exists_done_fn *done, void *ctx)
{
	struct ctx *c = arg;

	c->exists_calls++;
	if (!strcmp(name, "nothere.test")) {
		done(ctx, 0);
		return 0;
	}
	if (!strcmp(name, "slow.test")) {
		/* Never answers: dnsd must cancel it at its timeout. */
		c->done = done;
		c->done_ctx = ctx;
		return 0;
	}
	if (!strcmp(name, "broken.test"))
		return -EIO;
	done(ctx, 1);
	return 0;
}

static void exists_cancel(void *arg, void *ctx)
{
	struct ctx *c = arg;

	assert_ptr_equal(ctx, c->done_ctx);
	c->cancels++;
}

static void test_check_exists_hook(void **state)
{
	struct ctx *c = *state;
	uint8_t q[512];
	size_t len;

	c->cfg.check_exists = true;
	c->cfg.exists = exists_hook;
	c->cfg.exists_cancel = exists_cancel;
	c->cfg.exists_arg = c;
	start(c);
	len = dnsq_build(q, 1, "nothere.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(DNS_RCODE(dns_get16(c->ans + 2)), DNS_RCODE_NXDOMAIN);
	len = dnsq_build(q, 2, "web6.test", DNS_TYPE_AAAA, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans + 6), 1);
	/* Cannot tell: faked anyway. */
	len = dnsq_build(q, 3, "broken.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans + 6), 1);
	len = dnsq_build(q, 4, "slow.test", DNS_TYPE_A, 0);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans + 6), 1);
	assert_int_equal(c->cancels, 1);
	assert_int_equal(c->up.seen, 0);
}

static int rcode_of(struct ctx *c, uint16_t id, const char *name, uint16_t type)
{
	uint8_t q[512];
	size_t len = dnsq_build(q, id, name, type, 0);

	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans), id);
	return DNS_RCODE(dns_get16(c->ans + 2));
}

/* Pseudo-names: A a fake address behind the name, AAAA the address itself, other types no
 * data, malformed ones and zones NXDOMAIN; no existence check and nothing upstream. */
static void test_literal_names(void **state)
{
	static const char *name = "2001-db8-6--2.ipv6-literal.net";
	struct ctx *c = *state;
	const uint8_t *rd;
	uint16_t type, rdlen;
	uint32_t ttl;
	uint8_t want[16];
	char back[256];

	c->cfg.check_exists = true;
	c->cfg.exists = exists_hook;
	c->cfg.exists_cancel = exists_cancel;
	c->cfg.exists_arg = c;
	start(c);
	assert_int_equal(rcode_of(c, 1, "2001-DB8-6--2.IPv6-Literal.net", DNS_TYPE_A), 0);
	rd = first_rdata(c->ans, name, &type, &ttl, &rdlen);
	assert_int_equal(type, DNS_TYPE_A);
	assert_true(fakeip_in_pool(fakeip_get_config(c->table), AF_INET, rd));
	assert_int_equal(fakeip_lookup_addr(c->table, AF_INET, rd, back, sizeof(back)), 0);
	assert_string_equal(back, name);
	assert_int_equal(rcode_of(c, 2, name, DNS_TYPE_AAAA), 0);
	rd = first_rdata(c->ans, name, &type, &ttl, &rdlen);
	inet_pton(AF_INET6, "2001:db8:6::2", want);
	assert_int_equal(type, DNS_TYPE_AAAA);
	assert_int_equal(ttl, 77);
	assert_int_equal(rdlen, 16);
	assert_memory_equal(rd, want, 16);
	assert_int_equal(rcode_of(c, 3, name, DNS_TYPE_HTTPS), 0);
	assert_int_equal(dns_get16(c->ans + 6), 0);
	assert_int_equal(rcode_of(c, 4, "2001-db8---2.ipv6-literal.net", DNS_TYPE_A),
			 DNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(c, 5, "www.ipv6-literal.net", DNS_TYPE_AAAA), DNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(c, 6, "fe80--1s2.ipv6-literal.net", DNS_TYPE_A),
			 DNS_RCODE_NXDOMAIN);
	assert_int_equal(c->up.seen, 0);
	assert_int_equal(c->exists_calls, 0);
}

/* With no suffix the same names are ordinary ones; another suffix works the same way. */
static void test_literal_suffix_config(void **state)
{
	struct ctx *c = *state;
	const uint8_t *rd;
	uint16_t type, rdlen;
	uint32_t ttl;

	c->cfg.literal_suffix = NULL;
	start(c);
	assert_int_equal(rcode_of(c, 1, "2001-db8---2.ipv6-literal.net", DNS_TYPE_A), 0);
	rd = first_rdata(c->ans, "2001-db8---2.ipv6-literal.net", &type, &ttl, &rdlen);
	assert_true(fakeip_in_pool(fakeip_get_config(c->table), AF_INET, rd));
	dnsd_free(c->d);
	c->cfg.literal_suffix = "v6.example";
	start(c);
	assert_int_equal(rcode_of(c, 2, "x.v6.example", DNS_TYPE_A), DNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(c, 3, "--1.v6.example", DNS_TYPE_AAAA), 0);
	assert_int_equal(c->up.seen, 0);
}

/* Firefox's DoH canary: NXDOMAIN whatever the type, never forwarded. */
static void test_doh_canary(void **state)
{
	struct ctx *c = *state;

	start(c);
	assert_int_equal(rcode_of(c, 1, "use-application-dns.net", DNS_TYPE_A), DNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(c, 2, "Use-Application-DNS.net", DNS_TYPE_AAAA),
			 DNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(c, 3, "use-application-dns.net", DNS_TYPE_TXT),
			 DNS_RCODE_NXDOMAIN);
	assert_int_equal(c->up.seen, 0);
	/* Only that name: a name below it is an ordinary one. */
	assert_int_equal(rcode_of(c, 4, "x.use-application-dns.net", DNS_TYPE_A), 0);
	assert_int_equal(dns_get16(c->ans + 6), 1);
}

static void test_ipv6_listener_optional(void **state)
{
	struct ctx *c = *state;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->cfg.listen6;
	uint8_t q[512];
	size_t len = dnsq_build(q, 0x0606, "web6.test", DNS_TYPE_A, 0);

	/* An address this host does not have: IPv4 keeps working. */
	inet_pton(AF_INET6, "2001:db8:ffff::99", &s6->sin6_addr);
	start(c);
	assert_true(udp_roundtrip(c, q, len, 2000) > 0);
	assert_int_equal(dns_get16(c->ans), 0x0606);
	dnsd_free(c->d);
	/* Without an IPv4 listener the IPv6 failure is an error. */
	c->cfg.listen4.ss_family = AF_UNSPEC;
	assert_int_equal(dnsd_new(&c->d, c->loop, &c->cfg, c->table), -EADDRNOTAVAIL);
	assert_null(c->d);
}

static void test_fakeable(void **state)
{
	struct dnsd_config cfg;
	const char *nf[] = {".Corp.Example.", NULL};

	dnsd_config_default(&cfg);
	cfg.no_fake = nf;
	assert_true(dnsd_fakeable(&cfg, "web6.test"));
	assert_false(dnsd_fakeable(&cfg, "corp.example"));
	assert_false(dnsd_fakeable(&cfg, "a.corp.example"));
	assert_true(dnsd_fakeable(&cfg, "acorp.example"));
	assert_false(dnsd_fakeable(&cfg, "printer"));
	assert_false(dnsd_fakeable(&cfg, "x.localhost"));
	assert_false(dnsd_fakeable(&cfg, "7.0.18.198.in-addr.arpa"));
	assert_true(dnsd_fakeable(&cfg, "notlocal.example"));
}

static void test_no_fake_list_and_resolv(void **state)
{
	const char **l = NULL;
	size_t n = 0;
	char path[] = "/tmp/test_dnsd_resolv.XXXXXX";
	struct sockaddr_storage ss;
	char s[64];
	int fd = mkstemp(path);

	assert_int_equal(dnsd_no_fake_add(&l, &n, "a.example"), 0);
	assert_int_equal(dnsd_no_fake_add(&l, &n, "b.example"), 0);
	assert_int_equal(dnsd_no_fake_add(&l, &n, "..."), -EINVAL);
	assert_int_equal(n, 2);
	assert_null(l[2]);
	free(l);
	assert_true(fd >= 0);
	assert_int_equal(dnsd_upstream_from_resolv(path, &ss), -ENOENT);
	dprintf(fd, "# comment\nsearch test\nnameserver 2001:db8:6::1\nnameserver 1.2.3.4\n");
	close(fd);
	assert_int_equal(dnsd_upstream_from_resolv(path, &ss), 0);
	addr_format((struct sockaddr *)&ss, s, sizeof(s));
	assert_string_equal(s, "[2001:db8:6::1]:53");
	unlink(path);
}

/* The tail of a long `search` line is not a line of its own: no nameserver hides in it. */
static void test_resolv_long_line(void **state)
{
	char path[] = "/tmp/test_dnsd_resolv.XXXXXX";
	struct sockaddr_storage ss;
	char s[64];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	dprintf(fd, "search %0*d nameserver 192.0.2.99\nnameserver 2001:db8:6::1\n", 504, 0);
	close(fd);
	assert_int_equal(dnsd_upstream_from_resolv(path, &ss), 0);
	addr_format((struct sockaddr *)&ss, s, sizeof(s));
	assert_string_equal(s, "[2001:db8:6::1]:53");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolv_long_line),
	    cmocka_unit_test_setup_teardown(test_a_gets_fake_ipv4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_aaaa_gets_fake_ipv6_with_edns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_excluded_and_other_types_forwarded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_long_upstream_answer_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upstream_timeout_servfail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ptr_for_fake_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exhaustion_servfail, setup_tiny, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_pipelined_and_forwarded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_exists_hook, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_listener_optional, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_literal_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_literal_suffix_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_doh_canary, setup, teardown),
	    cmocka_unit_test(test_fakeable),
	    cmocka_unit_test(test_no_fake_list_and_resolv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
