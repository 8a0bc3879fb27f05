/* test_relay.c — the splice relay over TCP: initial bytes, half-close, backpressure with and
 * without pipes, idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

/* A connected TCP pair over loopback (splice needs a socket, not a socketpair pipe). */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&sin, &len);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*b = accept(l, NULL, NULL);
	assert_true(*b >= 0);
	close(l);
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/*
 * client <-> [c_in  relay  s_out] <-> server: the relay sits between c_in
 * (accepted from the client) and s_out (connected to the server).
 */
struct rig {
	struct ev_loop *loop;
	struct relay_pool *pool;
	struct relay r;
	int client, c_in, s_out, server;
	int done;
	enum relay_result res;
	int err;
};

static void on_done(struct relay *r, enum relay_result res, int err, void *arg)
{
	struct rig *g = arg;

	g->done = 1;
	g->res = res;
	g->err = err;
	/* As relay.h asks: the last EOF travels with the owner's close(). */
	close(g->c_in);
	close(g->s_out);
	g->c_in = g->s_out = -1;
	ev_stop(g->loop);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

static void run_for(struct rig *g, unsigned ms)
{
	struct ev_timer t;

	ev_timer_init(&t, on_deadline);
	ev_timer_start(g->loop, &t, ms);
	ev_run(g->loop);
	ev_timer_stop(g->loop, &t);
}

static void rig_up(struct rig *g, const char *initial, uint32_t idle_ms)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(ev_loop_new(&g->loop), 0);
	assert_int_equal(relay_pool_new(&g->pool, 4), 0);
	tcp_pair(&g->client, &g->c_in);
	tcp_pair(&g->s_out, &g->server);
	nonblock(g->c_in);
	nonblock(g->s_out);
	assert_int_equal(relay_start(&g->r, g->loop, g->pool, g->c_in, g->s_out, initial,
				     initial ? strlen(initial) : 0, idle_ms, on_done, g),
			 0);
}

static void rig_down(struct rig *g)
{
	if (!g->done)
		relay_stop(&g->r);
	close(g->client);
	if (g->c_in >= 0)
		close(g->c_in);
	if (g->s_out >= 0)
		close(g->s_out);
	close(g->server);
	relay_pool_free(g->pool);
	ev_loop_free(g->loop);
}

/* Reads exactly n bytes (blocking side of the rig). */
static void read_n(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		assert_true(k > 0);
		got += (size_t)k;
	}
}

static void test_initial_bytes_then_stream(void **state)
{
	struct rig g;
	char buf[64];

	rig_up(&g, "EARLY", 0);
	assert_int_equal(write(g.client, "hello", 5), 5);
	run_for(&g, 100);
	/* Bytes pipelined before the relay started come first. */
	read_n(g.server, buf, 10);
	assert_memory_equal(buf, "EARLYhello", 10);
	assert_int_equal(write(g.server, "world", 5), 5);
	run_for(&g, 100);
	read_n(g.client, buf, 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(relay_bytes_ab(&g.r), 10);
	assert_int_equal(relay_bytes_ba(&g.r), 5);
	/* Nothing in flight: no pipe is held. */
	assert_int_equal(g.r.dir[0].pipe_rd, -1);
	assert_int_equal(g.r.dir[1].pipe_rd, -1);
	rig_down(&g);
}

static void test_half_close(void **state)
{
	struct rig g;
	char buf[16];

	rig_up(&g, NULL, 0);
	assert_int_equal(write(g.client, "req", 3), 3);
	shutdown(g.client, SHUT_WR);
	run_for(&g, 100);
	read_n(g.server, buf, 3);
	/* The client's EOF reached the server, and the way back is still open. */
	assert_int_equal(read(g.server, buf, sizeof(buf)), 0);
	assert_false(g.done);
	assert_int_equal(write(g.server, "resp", 4), 4);
	shutdown(g.server, SHUT_WR);
	run_for(&g, 200);
	read_n(g.client, buf, 4);
	assert_memory_equal(buf, "resp", 4);
	assert_int_equal(read(g.client, buf, sizeof(buf)), 0);
	assert_true(g.done);
	assert_int_equal(g.res, RELAY_EOF);
	rig_down(&g);
}

/* Sends 8 MiB client → server through the rig, fed and drained in turns, and checks it. */
static void bulk_roundtrip(struct rig *g)
{
	const size_t total = 8 << 20;
	char *out = malloc(total), *in = malloc(total);
	size_t sent = 0, got = 0, turn = 0;
	uint64_t before = relay_bytes_ab(&g->r);

	for (size_t i = 0; i < total; i++)
		out[i] = (char)(i * 131 + (i >> 11));
	nonblock(g->client);
	nonblock(g->server);
	/* Feed and drain in turns so the destination backs up and empties many times. */
	while (got < total) {
		ssize_t k;

		if (sent < total && (k = write(g->client, out + sent, total - sent)) > 0)
			sent += (size_t)k;
		run_for(g, 5);
		if (++turn % 3 == 0 || sent == total) {
			k = read(g->server, in + got, total - got);
			if (k > 0)
				got += (size_t)k;
		}
		assert_false(g->done);
	}
	assert_memory_equal(in, out, total);
	assert_int_equal(relay_bytes_ab(&g->r) - before, total);
	free(out);
	free(in);
}

static void test_bulk_with_backpressure(void **state)
{
	struct rig g;

	rig_up(&g, NULL, 0);
	bulk_roundtrip(&g);
	rig_down(&g);
}

static struct rlimit saved_nofile;

/* Puts the descriptor limit back even when an assertion ended the test early. */
static int restore_nofile(void **state)
{
	return setrlimit(RLIMIT_NOFILE, &saved_nofile);
}

/* With no descriptor left for a pipe, what the destination does not take waits in memory. */
static void test_bulk_without_pipes(void **state)
{
	struct rlimit rl;
	int free_fd, p[2];
	struct rig g;

	rig_up(&g, "hello ", 0);
	relay_pool_free(g.pool);
	assert_int_equal(relay_pool_new(&g.pool, 0), 0);
	g.r.pool = g.pool;
	/* The lowest free descriptor becomes the limit: no new one can be made. */
	free_fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
	assert_true(free_fd >= 0);
	close(free_fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
	rl = saved_nofile;
	rl.rlim_cur = (rlim_t)free_fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(pipe(p), -1);
	assert_int_equal(errno, EMFILE);

	char hello[6];

	run_for(&g, 5);
	read_n(g.server, hello, sizeof(hello));
	assert_memory_equal(hello, "hello ", sizeof(hello));
	bulk_roundtrip(&g);
	assert_int_equal(g.r.dir[0].pipe_rd, -1);
	assert_int_equal(restore_nofile(NULL), 0);
	rig_down(&g);
}

static void test_idle_timeout(void **state)
{
	struct rig g;

	rig_up(&g, NULL, 150);
	run_for(&g, 1000);
	assert_true(g.done);
	assert_int_equal(g.res, RELAY_IDLE);
	rig_down(&g);
}

static void test_reset_is_an_error(void **state)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct rig g;
	char buf[8];

	rig_up(&g, NULL, 0);
	assert_int_equal(write(g.client, "x", 1), 1);
	run_for(&g, 50);
	read_n(g.server, buf, 1);
	setsockopt(g.server, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(g.server);
	g.server = socket(AF_INET, SOCK_STREAM, 0);
	run_for(&g, 1000);
	/* A reset towards one side ends the relay; writing more there fails too. */
	if (!g.done) {
		assert_int_equal(write(g.client, "more", 4), 4);
		run_for(&g, 1000);
	}
	assert_true(g.done);
	assert_int_equal(g.res, RELAY_ERROR);
	assert_true(g.err == ECONNRESET || g.err == EPIPE);
	rig_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_initial_bytes_then_stream),
	    cmocka_unit_test(test_half_close),
	    cmocka_unit_test(test_bulk_with_backpressure),
	    cmocka_unit_test_teardown(test_bulk_without_pipes, restore_nofile),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_reset_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
