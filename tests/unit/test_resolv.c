/* test_resolv.c — c-ares against a scripted DNS server: families, errors, TTL cache, PTR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "dns.h"
#include "resolv.h"

/* The scripted server: web6.test AAAA only, web4.test A only, dual.test both (TTL 1), else
 * NXDOMAIN. */
struct fake_dns {
	int fd;
	char addr[ADDR_STRLEN];
	unsigned queries;
};

static void fake_dns_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 6, [15] = 2};
	static const uint8_t v4[4] = {203, 0, 113, 2};
	struct fake_dns *d = arg;
	uint8_t in[1500], out[1500];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct dns_rr rr = {.ttl = 1};
	struct dns_query q;
	unsigned rcode = DNS_RCODE_NOERROR;
	size_t nan = 0;
	ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
	int m;

	if (n <= 0 || dns_parse_query(in, (size_t)n, &q) < 0)
		return;
	d->queries++;
	rr.type = q.qtype;
	if (q.qtype == DNS_TYPE_AAAA &&
	    (!strcmp(q.name, "web6.test") || !strcmp(q.name, "dual.test"))) {
		rr.rdata = v6;
		rr.rdlen = 16;
		nan = 1;
	} else if (q.qtype == DNS_TYPE_A &&
		   (!strcmp(q.name, "web4.test") || !strcmp(q.name, "dual.test"))) {
		rr.rdata = v4;
		rr.rdlen = 4;
		nan = 1;
	} else if (q.qtype == DNS_TYPE_PTR && !strcmp(q.name, "2.113.0.203.in-addr.arpa")) {
		static uint8_t ptr[64];
		int plen = dns_encode_name("web4.test", ptr, sizeof(ptr));

		rr.rdata = ptr;
		rr.rdlen = (uint16_t)plen;
		nan = 1;
	} else if (strcmp(q.name, "web6.test") && strcmp(q.name, "web4.test") &&
		   strcmp(q.name, "dual.test")) {
		rcode = DNS_RCODE_NXDOMAIN;
	}
	m = dns_build_reply(out, sizeof(out), q.udp_size, &q, rcode, &rr, nan);
	if (m > 0)
		sendto(fd, out, (size_t)m, 0, (struct sockaddr *)&from, flen);
}

struct answers {
	struct ev_loop *loop;
	int calls, err6, err4, last_remaining;
	size_t n6, n4;
	char a6[ADDR_STRLEN], a4[ADDR_STRLEN];
};

static void on_answer(void *arg, int family, int err, const struct sockaddr_storage *addrs,
		      size_t n, int remaining)
{
	struct answers *a = arg;

	a->calls++;
	a->last_remaining = remaining;
	if (family == AF_INET6) {
		a->err6 = err;
		a->n6 = n;
		if (n)
			addr_format_ip((const struct sockaddr *)&addrs[0], a->a6, sizeof(a->a6));
	} else {
		a->err4 = err;
		a->n4 = n;
		if (n)
			addr_format_ip((const struct sockaddr *)&addrs[0], a->a4, sizeof(a->a4));
	}
	if (!remaining)
		ev_stop(a->loop);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

struct fixture {
	struct ev_loop *loop;
	struct resolv *res;
	struct fake_dns dns;
};

static void run_for(struct ev_loop *loop, unsigned ms)
{
	struct ev_timer t;

	ev_timer_init(&t, on_deadline);
	ev_timer_start(loop, &t, ms);
	ev_run(loop);
	ev_timer_stop(loop, &t);
}

static void lookup(struct fixture *f, const char *name, struct answers *a)
{
	memset(a, 0, sizeof(*a));
	a->loop = f->loop;
	assert_non_null(resolv_lookup(f->res, name, on_answer, a));
	/* Nothing is delivered inside resolv_lookup, even from the cache. */
	assert_int_equal(a->calls, 0);
	run_for(f->loop, 3000);
	assert_int_equal(a->calls, 2);
	assert_int_equal(a->last_remaining, 0);
}

static int setup(void **state)
{
	static struct fixture f;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct resolv_opts ro = {
	    .timeout_ms = 500, .tries = 1, .cache_max = 64, .negative_ttl_s = 1};

	memset(&f, 0, sizeof(f));
	assert_int_equal(ev_loop_new(&f.loop), 0);
	f.dns.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	addr_parse("127.0.0.1:1", 0, &ss, NULL);
	addr_set_port((struct sockaddr *)&ss, 0);
	assert_int_equal(bind(f.dns.fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
	getsockname(f.dns.fd, (struct sockaddr *)&ss, &len);
	addr_format((struct sockaddr *)&ss, f.dns.addr, sizeof(f.dns.addr));
	assert_int_equal(ev_io_add(f.loop, f.dns.fd, EV_READ, fake_dns_cb, &f.dns), 0);
	ro.dns_server = f.dns.addr;
	assert_int_equal(resolv_new(&f.res, f.loop, &ro), 0);
	assert_non_null(f.res);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	resolv_free(f->res);
	close(f->dns.fd);
	ev_loop_free(f->loop);
	return 0;
}

static void test_both_families(void **state)
{
	struct fixture *f = *state;
	struct answers a;

	lookup(f, "dual.test", &a);
	assert_int_equal(a.err6, 0);
	assert_int_equal(a.err4, 0);
	assert_int_equal(a.n6, 1);
	assert_int_equal(a.n4, 1);
	assert_string_equal(a.a6, "2001:db8:6::2");
	assert_string_equal(a.a4, "203.0.113.2");
}

static void test_one_family(void **state)
{
	struct fixture *f = *state;
	struct answers a;

	lookup(f, "web6.test", &a);
	assert_int_equal(a.err6, 0);
	assert_int_equal(a.err4, ENODATA);
	lookup(f, "WEB4.test", &a);
	assert_int_equal(a.err6, ENODATA);
	assert_int_equal(a.err4, 0);
	assert_string_equal(a.a4, "203.0.113.2");
}

static void test_nxdomain(void **state)
{
	struct fixture *f = *state;
	struct answers a;

	lookup(f, "nope.test", &a);
	assert_int_equal(a.err6, ENOENT);
	assert_int_equal(a.err4, ENOENT);
}

static void test_cache_honours_ttl(void **state)
{
	struct fixture *f = *state;
	struct answers a;
	unsigned before;

	lookup(f, "dual.test", &a);
	before = f->dns.queries;
	/* Within the 1 s TTL: answered from the cache, case-insensitively. */
	lookup(f, "Dual.Test", &a);
	assert_int_equal(f->dns.queries, before);
	assert_string_equal(a.a6, "2001:db8:6::2");
	run_for(f->loop, 1100);
	lookup(f, "dual.test", &a);
	assert_int_equal(f->dns.queries, before + 2);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct answers a = {.loop = f->loop};
	struct resolv_query *q = resolv_lookup(f->res, "web4.test", on_answer, &a);

	assert_non_null(q);
	resolv_cancel(q);
	run_for(f->loop, 300);
	assert_int_equal(a.calls, 0);
}

struct ptr_answer {
	struct ev_loop *loop;
	int calls, err;
	char name[256];
};

static void on_ptr(void *arg, int err, const char *name)
{
	struct ptr_answer *a = arg;

	a->calls++;
	a->err = err;
	if (name)
		snprintf(a->name, sizeof(a->name), "%s", name);
	ev_stop(a->loop);
}

static void test_reverse(void **state)
{
	struct fixture *f = *state;
	struct ptr_answer a = {.loop = f->loop};
	struct sockaddr_storage ss;

	addr_parse_ip("203.0.113.2", &ss, NULL);
	assert_non_null(resolv_reverse(f->res, (struct sockaddr *)&ss, on_ptr, &a));
	assert_int_equal(a.calls, 0);
	run_for(f->loop, 3000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, 0);
	assert_string_equal(a.name, "web4.test");

	memset(&a, 0, sizeof(a));
	a.loop = f->loop;
	addr_parse_ip("203.0.113.77", &ss, NULL);
	assert_non_null(resolv_reverse(f->res, (struct sockaddr *)&ss, on_ptr, &a));
	run_for(f->loop, 3000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, ENOENT);
	ss.ss_family = AF_UNIX;
	assert_null(resolv_reverse(f->res, (struct sockaddr *)&ss, on_ptr, &a));
}

static void test_server_down(void **state)
{
	struct resolv_opts ro = {.dns_server = "127.0.0.1:1", .timeout_ms = 200, .tries = 1};
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	struct answers a = {.loop = loop};
	struct resolv *res;

	assert_int_equal(resolv_new(&res, loop, &ro), 0);
	assert_non_null(res);
	assert_non_null(resolv_lookup(res, "web4.test", on_answer, &a));
	run_for(loop, 3000);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.err4, EHOSTUNREACH);
	assert_int_equal(a.err6, EHOSTUNREACH);
	resolv_free(res);
	ev_loop_free(loop);
}

static void test_bad_server_option(void **state)
{
	struct resolv_opts ro = {.dns_server = "not an address"};
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	struct resolv *res = NULL;

	assert_int_equal(resolv_new(&res, loop, &ro), -EINVAL);
	assert_null(res);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_both_families, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_family, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nxdomain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_honours_ttl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reverse, setup, teardown),
	    cmocka_unit_test(test_server_down),
	    cmocka_unit_test(test_bad_server_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
