/* test_bindcmd.c — BIND: who may connect in, the announced address, accept on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "ev.h"
#include "gateway/bindcmd.h"
#include "log.h"

static struct sockaddr_storage sa(const char *s)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse(s, 1, &ss, NULL), 0);
	return ss;
}

static void test_allowed(void **state)
{
	struct bindcmd_allow a = {0};
	struct sockaddr_storage x = sa("198.51.100.7:1"), y = sa("[2001:db8::7]:2"),
				mapped = sa("[::ffff:198.51.100.7]:9"),
				other = sa("198.51.100.8:1"), other6 = sa("[2001:db8::8]:2");

	assert_false(bindcmd_allowed(&a, (struct sockaddr *)&x));
	assert_int_equal(bindcmd_allow_add(&a, (struct sockaddr *)&x), 0);
	assert_int_equal(bindcmd_allow_add(&a, (struct sockaddr *)&y), 0);
	/* Ports never matter, and an IPv4 peer on a dual-stack socket is still IPv4. */
	assert_false(bindcmd_allowed(&a, (struct sockaddr *)&(struct sockaddr_storage){0}));
	assert_true(bindcmd_allowed(&a, (struct sockaddr *)&mapped));
	assert_true(bindcmd_allowed(&a, (struct sockaddr *)&y));
	assert_false(bindcmd_allowed(&a, (struct sockaddr *)&other));
	assert_false(bindcmd_allowed(&a, (struct sockaddr *)&other6));
	a.any = true;
	assert_true(bindcmd_allowed(&a, (struct sockaddr *)&other6));
	/* A full set says so. */
	a.n = BINDCMD_MAX_PEERS;
	assert_int_equal(bindcmd_allow_add(&a, (struct sockaddr *)&x), -ENOSPC);
}

static void test_is_any(void **state)
{
	struct socks5_addr v4 = {.atyp = SOCKS5_ATYP_IPV4}, v6 = {.atyp = SOCKS5_ATYP_IPV6};
	struct socks5_addr name = {0};

	assert_true(bindcmd_is_any(&v4));
	assert_true(bindcmd_is_any(&v6));
	v4.v4.s_addr = inet_addr("198.51.100.1");
	v6.v6.s6_addr[15] = 1;
	assert_false(bindcmd_is_any(&v4));
	assert_false(bindcmd_is_any(&v6));
	assert_int_equal(socks5_addr_set_name(&name, "0.0.0.0", 0), 0);
	/* A name is resolved, never "any" (the request handler unliterals first). */
	assert_false(bindcmd_is_any(&name));
}

static void test_source(void **state)
{
	struct sockaddr_storage d4 = sa("127.0.0.1:80"), d6 = sa("[::1]:80"), out;
	char buf[ADDR_STRLEN];

	assert_int_equal(bindcmd_source((struct sockaddr *)&d4, &out), 0);
	assert_string_equal(addr_format((struct sockaddr *)&out, buf, sizeof(buf)), "127.0.0.1:0");
	if (bindcmd_source((struct sockaddr *)&d6, &out) == 0)
		assert_string_equal(addr_format((struct sockaddr *)&out, buf, sizeof(buf)),
				    "[::1]:0");
}

struct bind_run {
	struct ev_loop *loop;
	int calls, fd, err;
	bool final;
	struct sockaddr_storage first, peer;
	int good, bad; /* client sockets */
};

static void on_bind(void *arg, int fd, int err, const struct sockaddr *addr, bool final)
{
	struct bind_run *r = arg;

	r->calls++;
	r->err = err;
	r->final = final;
	if (!final) {
		struct sockaddr_storage from = sa("127.0.0.2"), to;

		addr_set_port((struct sockaddr *)&from, 0);
		memcpy(&r->first, addr, addr_sa_len(addr));
		/* A stranger first (rejected and closed), then the expected host. */
		to = r->first;
		r->bad = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(bind(r->bad, (struct sockaddr *)&from, sizeof(struct sockaddr_in)),
				 0);
		assert_int_equal(
		    connect(r->bad, (struct sockaddr *)&to, sizeof(struct sockaddr_in)), 0);
		r->good = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(
		    connect(r->good, (struct sockaddr *)&to, sizeof(struct sockaddr_in)), 0);
		return;
	}
	r->fd = fd;
	if (addr)
		memcpy(&r->peer, addr, addr_sa_len(addr));
	ev_stop(r->loop);
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

static void test_accept_loopback(void **state)
{
	struct bind_run r = {.fd = -1};
	struct socks5_addr dst = {.atyp = SOCKS5_ATYP_IPV4};
	struct bindcmd_opts o = {.prefer = AF_INET6};
	struct sockaddr_storage good_name;
	socklen_t len = sizeof(good_name);
	struct ev_timer t;
	struct bindcmd *b;
	char c;

	dst.v4.s_addr = inet_addr("127.0.0.1");
	assert_int_equal(ev_loop_new(&r.loop), 0);
	ev_timer_init(&t, on_timeout);
	ev_timer_start(r.loop, &t, 3000);
	assert_int_equal(bindcmd_start(&b, r.loop, NULL, &o, &dst, on_bind, &r), 0);
	assert_non_null(b);
	/* Never inside start: the first reply comes from the loop. */
	assert_int_equal(r.calls, 0);
	ev_run(r.loop);
	assert_int_equal(r.calls, 2);
	assert_true(r.final);
	assert_int_equal(r.err, 0);
	assert_true(r.fd >= 0);
	assert_int_equal(r.first.ss_family, AF_INET);
	assert_int_equal(((struct sockaddr_in *)&r.first)->sin_addr.s_addr, dst.v4.s_addr);
	assert_true(addr_port((struct sockaddr *)&r.first) != 0);
	/* The accepted one is the expected host; the stranger was closed. */
	assert_int_equal(getsockname(r.good, (struct sockaddr *)&good_name, &len), 0);
	assert_true(addr_equal((struct sockaddr *)&good_name, (struct sockaddr *)&r.peer));
	assert_int_equal(read(r.bad, &c, 1), 0);
	close(r.fd);
	close(r.good);
	close(r.bad);
	ev_timer_stop(r.loop, &t);
	ev_loop_free(r.loop);
}

static void test_unreachable(void **state)
{
	struct socks5_addr dst = {.atyp = SOCKS5_ATYP_IPV6};
	struct bindcmd_opts o = {.prefer = AF_INET6};
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	struct bindcmd *b;
	int err;

	/* The test namespace or host may have no route to 2001:db8:ffff::1. */
	dst.v6.s6_addr[0] = 0x20;
	dst.v6.s6_addr[1] = 0x01;
	dst.v6.s6_addr[2] = 0x0d;
	dst.v6.s6_addr[3] = 0xb8;
	dst.v6.s6_addr[4] = 0xff;
	dst.v6.s6_addr[15] = 1;
	err = bindcmd_start(&b, loop, NULL, &o, &dst, on_bind, NULL);
	if (!b)
		assert_true(err == -ENETUNREACH || err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT);
	bindcmd_cancel(b);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed),	cmocka_unit_test(test_is_any),
	    cmocka_unit_test(test_source),	cmocka_unit_test(test_accept_loopback),
	    cmocka_unit_test(test_unreachable),
	};

	log_init(LOG_LVL_ERROR, "test_bindcmd");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
