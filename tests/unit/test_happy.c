/* test_happy.c — Happy Eyeballs ordering, and real staggered connects over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "happy.h"
#include "netutil.h"

static void order(const char *const *in, size_t n, int prefer, const char *const *want)
{
	struct sockaddr_storage addrs[16], out[16];
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < n; i++)
		assert_int_equal(addr_parse(in[i], 0, &addrs[i], NULL), 0);
	assert_int_equal(happy_order(addrs, n, prefer, out), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(addr_format((struct sockaddr *)&out[i], buf, sizeof(buf)),
				    want[i]);
}

static void test_interleave_prefer_v6(void **state)
{
	const char *in[] = {"1.1.1.1:1", "2.2.2.2:1", "3.3.3.3:1", "[2001:db8::1]:1",
			    "[2001:db8::2]:1"};
	const char *want[] = {"[2001:db8::1]:1", "1.1.1.1:1", "[2001:db8::2]:1", "2.2.2.2:1",
			      "3.3.3.3:1"};

	order(in, 5, AF_INET6, want);
}

static void test_interleave_prefer_v4(void **state)
{
	const char *in[] = {"[2001:db8::1]:1", "[2001:db8::2]:1", "[2001:db8::3]:1", "1.1.1.1:1"};
	const char *want[] = {"1.1.1.1:1", "[2001:db8::1]:1", "[2001:db8::2]:1", "[2001:db8::3]:1"};

	order(in, 4, AF_INET, want);
}

static void test_single_family(void **state)
{
	const char *in4[] = {"1.1.1.1:1", "2.2.2.2:1"};
	const char *in6[] = {"[2001:db8::1]:1", "[2001:db8::2]:1"};

	order(in4, 2, AF_INET6, in4);
	order(in6, 2, AF_INET, in6);
}

static void test_late_family_joins(void **state)
{
	struct happy_list l = {0};
	struct sockaddr_storage ss;
	const union happy_sa *sa;

	/* A answered first and one attempt went out; AAAA then arrives. */
	addr_parse("1.1.1.1:1", 0, &ss, NULL);
	happy_list_add(&l, (struct sockaddr *)&ss);
	addr_parse("2.2.2.2:1", 0, &ss, NULL);
	happy_list_add(&l, (struct sockaddr *)&ss);
	sa = happy_list_next(&l, AF_INET6);
	assert_int_equal(sa->sa.sa_family, AF_INET);
	addr_parse("[2001:db8::1]:1", 0, &ss, NULL);
	happy_list_add(&l, (struct sockaddr *)&ss);
	assert_int_equal(happy_list_next(&l, AF_INET6)->sa.sa_family, AF_INET6);
	assert_int_equal(happy_list_next(&l, AF_INET6)->sa.sa_family, AF_INET);
	assert_null(happy_list_next(&l, AF_INET6));
}

static void test_list_full(void **state)
{
	struct happy_list l = {0};
	struct sockaddr_storage ss;

	addr_parse("1.1.1.1:1", 0, &ss, NULL);
	for (int i = 0; i < RESOLV_MAX_ADDRS; i++)
		assert_int_equal(happy_list_add(&l, (struct sockaddr *)&ss), 0);
	assert_int_equal(happy_list_add(&l, (struct sockaddr *)&ss), -ENOSPC);
	ss.ss_family = AF_UNIX;
	assert_int_equal(happy_list_add(&l, (struct sockaddr *)&ss), -EAFNOSUPPORT);
}

struct outcome {
	struct ev_loop *loop;
	int fd, err, done;
	struct sockaddr_storage peer;
};

static void on_done(void *arg, int fd, int err, const struct sockaddr *peer)
{
	struct outcome *o = arg;

	o->fd = fd;
	o->err = err;
	o->done = 1;
	if (peer)
		memcpy(&o->peer, peer, addr_sa_len(peer));
	ev_stop(o->loop);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

/* Connects through happy_start and runs the loop until the callback (or 5 s). */
static void connect_to(const char *name, const char *literal, uint16_t port, struct outcome *o)
{
	struct resolv_opts ro = {.dns_server = "127.0.0.1:1",
				 .timeout_ms = 300,
				 .tries = 1,
				 .cache_max = 16,
				 .negative_ttl_s = 1};
	struct happy_opts ho = {
	    .attempt_delay_ms = 250, .resolution_delay_ms = 50, .prefer = AF_INET6};
	struct sockaddr_storage ss;
	struct ev_timer deadline;
	struct resolv *res;
	struct happy *h;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	assert_int_equal(ev_loop_new(&o->loop), 0);
	assert_non_null(o->loop);
	assert_int_equal(resolv_new(&res, o->loop, &ro), 0);
	assert_non_null(res);
	if (literal)
		assert_int_equal(addr_parse_ip(literal, &ss, NULL), 0);
	assert_int_equal(happy_start(&h, o->loop, res, &ho, name,
				     literal ? (struct sockaddr *)&ss : NULL, port, on_done, o),
			 0);
	assert_non_null(h);
	/* The callback never runs inside happy_start. */
	assert_int_equal(o->done, 0);
	ev_timer_init(&deadline, on_deadline);
	ev_timer_start(o->loop, &deadline, 5000);
	ev_run(o->loop);
	ev_timer_stop(o->loop, &deadline);
	assert_int_equal(o->done, 1);
	resolv_free(res);
	ev_loop_free(o->loop);
}

/* A port on 127.0.0.1 that is listened on (listen true) or bound but closed to connects. */
static int loopback_port(bool listen_on, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	addr_parse("127.0.0.1:1", 0, &ss, NULL);
	addr_set_port((struct sockaddr *)&ss, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
	if (listen_on)
		assert_int_equal(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = addr_port((struct sockaddr *)&ss);
	return fd;
}

static void test_connect_literal(void **state)
{
	struct outcome o;
	uint16_t port;
	int lfd = loopback_port(true, &port);

	connect_to(NULL, "127.0.0.1", port, &o);
	assert_true(o.fd >= 0);
	assert_int_equal(o.err, 0);
	assert_int_equal(addr_port((struct sockaddr *)&o.peer), port);
	close(o.fd);
	close(lfd);
}

static void test_connect_refused(void **state)
{
	struct outcome o;
	uint16_t port;
	int fd = loopback_port(false, &port);

	connect_to(NULL, "127.0.0.1", port, &o);
	assert_int_equal(o.fd, -1);
	assert_int_equal(o.err, ECONNREFUSED);
	close(fd);
}

/* localhost is ::1 and 127.0.0.1 (RFC 6761): ::1 refuses, the attempt falls back to IPv4. */
static void test_connect_name(void **state)
{
	char buf[ADDR_STRLEN];
	struct outcome o;
	uint16_t port;
	int lfd = loopback_port(true, &port);

	connect_to("localhost", NULL, port, &o);
	assert_true(o.fd >= 0);
	assert_string_equal(addr_format_ip((struct sockaddr *)&o.peer, buf, sizeof(buf)),
			    "127.0.0.1");
	close(o.fd);
	close(lfd);
}

static void test_connect_unresolvable(void **state)
{
	struct outcome o;

	/* The only DNS server refuses: the name cannot be resolved. */
	connect_to("web6.invalid", NULL, 80, &o);
	assert_int_equal(o.fd, -1);
	assert_int_equal(o.err, EHOSTUNREACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interleave_prefer_v6),
	    cmocka_unit_test(test_interleave_prefer_v4),
	    cmocka_unit_test(test_single_family),
	    cmocka_unit_test(test_late_family_joins),
	    cmocka_unit_test(test_list_full),
	    cmocka_unit_test(test_connect_literal),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_connect_name),
	    cmocka_unit_test(test_connect_unresolvable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
