/* test_listener.c — accepting: batches, the out-of-descriptors pause (no spinning) and resuming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "listener.h"
#include "netutil.h"

struct t {
	struct ev_loop *loop;
	struct listener l;
	int lfd;
	uint16_t port;
	int fds[8];
	unsigned n, want;
	bool pause_in_cb, hold_in_cb;
	struct ev_timer check, guard;
	bool checked_paused;
};

static void on_conn(void *arg, int fd, const struct sockaddr *peer)
{
	struct t *t = arg;

	assert_int_equal(peer->sa_family, AF_INET);
	t->fds[t->n++] = fd;
	if (t->pause_in_cb)
		listener_pause(&t->l, EMFILE);
	if (t->hold_in_cb)
		listener_hold(&t->l);
	if (t->n == t->want)
		ev_stop(t->loop);
}

static void on_guard(struct ev_loop *loop, struct ev_timer *tm)
{
	fail_msg("the loop did not finish in time");
}

static void setup_t(struct t *t, unsigned want)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	memset(t, 0, sizeof(*t));
	t->want = want;
	assert_int_equal(ev_loop_new(&t->loop), 0);
	assert_non_null(t->loop);
	listener_init(&t->l, t->loop, "test", on_conn, t);
	t->lfd = netutil_listen((struct sockaddr *)&sin, false, false, 16);
	assert_true(t->lfd >= 0);
	t->port = netutil_local_port(t->lfd);
	assert_int_not_equal(t->port, 0);
	assert_int_equal(listener_add(&t->l, t->lfd), 0);
	ev_timer_init(&t->guard, on_guard);
	assert_int_equal(ev_timer_start(t->loop, &t->guard, 10000), 0);
}

static int client(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void teardown_t(struct t *t, int *clients, unsigned nclients)
{
	for (unsigned i = 0; i < t->n; i++)
		close(t->fds[i]);
	for (unsigned i = 0; i < nclients; i++)
		close(clients[i]);
	listener_close(&t->l);
	listener_close(&t->l);
	ev_timer_stop(t->loop, &t->guard);
	ev_loop_free(t->loop);
}

static void test_accepts(void **state)
{
	struct t t;
	int c[3];

	setup_t(&t, 3);
	assert_int_equal(listener_start(&t.l), 0);
	for (int i = 0; i < 3; i++)
		c[i] = client(t.port);
	assert_int_equal(ev_run(t.loop), 0);
	assert_int_equal(t.n, 3);
	teardown_t(&t, c, 3);
}

/* While paused the listener is not watched (a level-triggered loop would spin on it). */
static void on_check(struct ev_loop *loop, struct ev_timer *tm)
{
	struct t *t = container_of(tm, struct t, check);
	struct rlimit rl;

	assert_true(ev_timer_armed(&t->l.pause));
	assert_int_equal(ev_io_events(loop, t->lfd), 0);
	assert_int_equal(t->n, 0);
	t->checked_paused = true;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Out of descriptors: accept4 fails with EMFILE, accepting pauses, then resumes by itself. */
static void test_pause_on_emfile(void **state)
{
	struct rlimit rl, low;
	struct t t;
	int c, lowest;

	setup_t(&t, 1);
	assert_int_equal(listener_start(&t.l), 0);
	c = client(t.port);
	/* The lowest free descriptor as the limit: every number below it is taken. */
	lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	ev_timer_init(&t.check, on_check);
	assert_int_equal(ev_timer_start(t.loop, &t.check, LISTENER_PAUSE_MS / 2), 0);
	assert_int_equal(ev_run(t.loop), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true(t.checked_paused);
	assert_int_equal(t.n, 1);
	assert_int_equal(ev_io_events(t.loop, t.lfd), EV_READ);
	teardown_t(&t, &c, 1);
}

/* A shortage the callee meets (a socket towards a server) pauses the batch too. */
static void test_pause_from_callee(void **state)
{
	struct t t;
	int c[2];

	setup_t(&t, 2);
	t.pause_in_cb = true;
	assert_int_equal(listener_start(&t.l), 0);
	c[0] = client(t.port);
	c[1] = client(t.port);
	assert_int_equal(ev_run(t.loop), 0);
	assert_int_equal(t.n, 2);
	teardown_t(&t, c, 2);
}

/* Held, nothing more is taken and the socket is not watched, however long; release resumes. */
static void on_held(struct ev_loop *loop, struct ev_timer *tm)
{
	struct t *t = container_of(tm, struct t, check);

	assert_int_equal(t->n, 1);
	assert_int_equal(ev_io_events(loop, t->lfd), 0);
	t->checked_paused = true;
	t->hold_in_cb = false;
	listener_release(&t->l);
	listener_release(&t->l);
}

static void test_hold_until_release(void **state)
{
	struct t t;
	int c[3];

	setup_t(&t, 3);
	t.hold_in_cb = true;
	assert_int_equal(listener_start(&t.l), 0);
	for (int i = 0; i < 3; i++)
		c[i] = client(t.port);
	ev_timer_init(&t.check, on_held);
	/* Longer than a pause: a hold does not end by itself. */
	assert_int_equal(ev_timer_start(t.loop, &t.check, 3 * LISTENER_PAUSE_MS), 0);
	assert_int_equal(ev_run(t.loop), 0);
	assert_true(t.checked_paused);
	assert_int_equal(t.n, 3);
	assert_int_equal(ev_io_events(t.loop, t.lfd), EV_READ);
	teardown_t(&t, c, 3);
}

static void test_shortage_and_limits(void **state)
{
	struct listener l;
	int fd;

	assert_true(listener_shortage(EMFILE));
	assert_true(listener_shortage(ENFILE));
	assert_true(listener_shortage(ENOBUFS));
	assert_true(listener_shortage(ENOMEM));
	assert_false(listener_shortage(ECONNREFUSED));
	assert_false(listener_shortage(EAGAIN));
	memset(&l, 0, sizeof(l));
	listener_close(&l);
	listener_init(&l, NULL, "x", NULL, NULL);
	l.nfds = LISTENER_MAX;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(listener_add(&l, fd), -E2BIG);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_pause_on_emfile),
	    cmocka_unit_test(test_pause_from_callee),
	    cmocka_unit_test(test_hold_until_release),
	    cmocka_unit_test(test_shortage_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
