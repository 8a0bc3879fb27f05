/* test_ev.c — the event loop: fd readiness, EV_HUP, deletion during dispatch, timer ordering and
 * cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"

struct fired {
	struct ev_timer t;
	int id;
	int *order;
	int *n;
};

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct fired *f = container_of(t, struct fired, t);

	f->order[(*f->n)++] = f->id;
	if (*f->n == 3)
		ev_stop(loop);
}

static void test_timers_fire_in_deadline_order(void **state)
{
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	int order[4] = {0}, n = 0;
	struct fired a = {.id = 1, .order = order, .n = &n};
	struct fired b = {.id = 2, .order = order, .n = &n};
	struct fired c = {.id = 3, .order = order, .n = &n};
	struct fired d = {.id = 4, .order = order, .n = &n};

	assert_non_null(loop);
	ev_timer_init(&a.t, on_timer);
	ev_timer_init(&b.t, on_timer);
	ev_timer_init(&c.t, on_timer);
	ev_timer_init(&d.t, on_timer);
	assert_int_equal(ev_timer_start(loop, &c.t, 30), 0);
	assert_int_equal(ev_timer_start(loop, &a.t, 10), 0);
	assert_int_equal(ev_timer_start(loop, &d.t, 15), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 20), 0);
	ev_timer_stop(loop, &d.t);
	assert_false(ev_timer_armed(&d.t));
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	ev_loop_free(loop);
}

static void test_timer_restart_moves_deadline(void **state)
{
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	int order[4] = {0}, n = 1;
	struct fired a = {.id = 1, .order = order, .n = &n};
	struct fired b = {.id = 2, .order = order, .n = &n};

	ev_timer_init(&a.t, on_timer);
	ev_timer_init(&b.t, on_timer);
	ev_timer_start(loop, &a.t, 5);
	ev_timer_start(loop, &b.t, 10);
	ev_timer_start(loop, &a.t, 40); /* re-arming a must not leave a stale heap entry */
	ev_run(loop);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	ev_loop_free(loop);
}

struct pipes {
	int a[2], b[2];
	int calls;
};

/* Whichever fd fires first deletes the other: its pending event must not be delivered. */
static void on_read_delete_other(struct ev_loop *loop, int fd, unsigned ev, void *arg)
{
	struct pipes *p = arg;
	int other = fd == p->a[0] ? p->b[0] : p->a[0];

	p->calls++;
	assert_true(ev & EV_READ);
	ev_io_del(loop, fd);
	ev_io_del(loop, other);
	ev_stop(loop);
}

static void test_delete_during_dispatch(void **state)
{
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	struct pipes p = {.calls = 0};

	assert_int_equal(pipe2(p.a, O_NONBLOCK), 0);
	assert_int_equal(pipe2(p.b, O_NONBLOCK), 0);
	assert_int_equal(ev_io_add(loop, p.a[0], EV_READ, on_read_delete_other, &p), 0);
	assert_int_equal(ev_io_add(loop, p.b[0], EV_READ, on_read_delete_other, &p), 0);
	assert_int_equal(write(p.a[1], "x", 1), 1);
	assert_int_equal(write(p.b[1], "y", 1), 1);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(p.calls, 1);
	assert_int_equal(ev_io_events(loop, p.a[0]), 0);
	for (int i = 0; i < 2; i++)
		close(p.a[i]), close(p.b[i]);
	ev_loop_free(loop);
}

static void on_writable(struct ev_loop *loop, int fd, unsigned ev, void *arg)
{
	unsigned *seen = arg;

	*seen |= ev;
	ev_stop(loop);
}

static void test_mod_switches_interest(void **state)
{
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	unsigned seen = 0;
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(ev_io_add(loop, p[1], 0, on_writable, &seen), 0);
	assert_int_equal(ev_io_mod(loop, p[1], EV_WRITE), 0);
	assert_int_equal(ev_io_events(loop, p[1]), EV_WRITE);
	ev_run(loop);
	assert_true(seen & EV_WRITE);
	assert_int_equal(ev_io_mod(loop, 999, EV_READ), -ENOENT);
	assert_int_equal(ev_io_add(loop, -1, EV_READ, on_writable, &seen), -EBADF);
	close(p[0]);
	close(p[1]);
	ev_loop_free(loop);
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

/* EV_HUP wakes for the peer's FIN, not for bytes waiting to be read. */
static void test_hup_ignores_data(void **state)
{
	struct ev_loop *loop = NULL;
	struct ev_timer t;
	unsigned seen = 0;
	int sv[2];

	assert_int_equal(ev_loop_new(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(ev_io_add(loop, sv[0], EV_HUP, on_writable, &seen), 0);
	ev_timer_init(&t, on_timeout);
	assert_int_equal(ev_timer_start(loop, &t, 50), 0);
	ev_run(loop);
	assert_int_equal(seen, 0);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	ev_run(loop);
	assert_true(seen & EV_HUP);
	assert_false(seen & EV_READ);
	ev_timer_stop(loop, &t);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_fire_in_deadline_order),
	    cmocka_unit_test(test_timer_restart_moves_deadline),
	    cmocka_unit_test(test_delete_during_dispatch),
	    cmocka_unit_test(test_mod_switches_interest),
	    cmocka_unit_test(test_hup_ignores_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
