/* test_s5client.c — the SOCKS5 client handshake against scripted server answers on a socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "s5client.h"

struct result {
	int calls, finals, err;
	uint8_t rep[2];
	struct socks5_addr bnd[2];
	struct ev_loop *loop;
};

static void on_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd, bool final)
{
	struct result *r = arg;

	if (r->calls < 2) {
		r->rep[r->calls] = rep;
		if (bnd)
			r->bnd[r->calls] = *bnd;
	}
	r->calls++;
	r->err = err;
	if (final) {
		r->finals++;
		ev_stop(r->loop);
	}
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

/*
 * Runs a handshake whose server side has already written answer (and maybe
 * closed). Returns what the client sent in sent/sent_len and what is left
 * unread in the client's socket in left.
 */
static void run(const char *user, const char *pass, uint8_t cmd, const void *answer, size_t len,
		bool close_after, struct result *r, uint8_t *sent, size_t *sent_len, char *left,
		size_t leftlen)
{
	struct socks5_addr dst = {0};
	struct ev_timer t;
	struct s5client *c;
	int sv[2];
	ssize_t n;

	memset(r, 0, sizeof(*r));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(ev_loop_new(&r->loop), 0);
	assert_non_null(r->loop);
	ev_timer_init(&t, on_timeout);
	ev_timer_start(r->loop, &t, 2000);
	assert_int_equal(socks5_addr_set_name(&dst, "web6.test", 80), 0);
	assert_int_equal(write(sv[1], answer, len), (ssize_t)len);
	if (close_after)
		shutdown(sv[1], SHUT_WR);
	assert_int_equal(s5client_start(&c, r->loop, sv[0], user, pass, cmd, &dst, on_reply, r), 0);
	assert_non_null(c);
	ev_run(r->loop);
	if (!r->finals)
		s5client_cancel(c);
	n = read(sv[1], sent, 1024);
	*sent_len = n > 0 ? (size_t)n : 0;
	n = recv(sv[0], left, leftlen - 1, MSG_DONTWAIT);
	left[n > 0 ? n : 0] = '\0';
	ev_timer_stop(r->loop, &t);
	ev_loop_free(r->loop);
	close(sv[0]);
	close(sv[1]);
}

static void test_connect_no_auth(void **state)
{
	static const uint8_t answer[] = {5, 0, 5, 0, 0, 1, 198, 51, 100, 7, 0x1f, 0x90, 'D', 'A'};
	static const uint8_t want[] = {5,   1,	 0,   5,   1,	0,   3,	  9, 'w', 'e',
				       'b', '6', '.', 't', 'e', 's', 't', 0, 80};
	uint8_t sent[1024];
	size_t sent_len;
	char left[64];
	struct result r;

	run(NULL, NULL, SOCKS5_CMD_CONNECT, answer, sizeof(answer), false, &r, sent, &sent_len,
	    left, sizeof(left));
	assert_int_equal(r.finals, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.rep[0], 0);
	assert_int_equal(r.bnd[0].atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(r.bnd[0].v4.s_addr, inet_addr("198.51.100.7"));
	assert_int_equal(r.bnd[0].port, 8080);
	assert_int_equal(sent_len, sizeof(want));
	assert_memory_equal(sent, want, sizeof(want));
	/* Stream bytes after the reply stay in the socket for the relay. */
	assert_string_equal(left, "DA");
}

static void test_login_and_refusal(void **state)
{
	static const uint8_t answer[] = {5, 2, 1, 0, 5, 4, 0, 3, 4, 'n', 'a', 'm', 'e', 0, 0};
	static const uint8_t want_auth[] = {1, 3, 'b', 'o', 'b', 2, 'p', 'w'};
	uint8_t sent[1024];
	size_t sent_len;
	char left[64];
	struct result r;

	run("bob", "pw", SOCKS5_CMD_CONNECT, answer, sizeof(answer), false, &r, sent, &sent_len,
	    left, sizeof(left));
	assert_int_equal(r.finals, 1);
	assert_int_equal(r.err, 0);
	/* The upstream's refusal is a reply like any other: passed on as it is. */
	assert_int_equal(r.rep[0], SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(r.bnd[0].atyp, SOCKS5_ATYP_DOMAINNAME);
	assert_string_equal(r.bnd[0].name, "name");
	assert_memory_equal(sent, ((uint8_t[]){5, 1, 2}), 3);
	assert_memory_equal(sent + 3, want_auth, sizeof(want_auth));
	assert_int_equal(sent[3 + sizeof(want_auth) + 1], SOCKS5_CMD_CONNECT);
}

static void test_failures(void **state)
{
	static const struct {
		const char *what;
		const char *user;
		uint8_t answer[16];
		size_t len;
		bool close_after;
		int err;
	} cases[] = {
	    {"no acceptable method", NULL, {5, 0xff}, 2, false, EACCES},
	    {"login rejected", "bob", {5, 2, 1, 1}, 4, false, EACCES},
	    {"method we did not offer", NULL, {5, 2}, 2, false, EACCES},
	    {"0x00 while we asked 0x02", "bob", {5, 0}, 2, false, EACCES},
	    {"wrong version", NULL, {4, 0}, 2, false, EPROTO},
	    {"reply with bad version",
	     NULL,
	     {5, 0, 4, 0, 0, 1, 1, 2, 3, 4, 0, 1},
	     12,
	     false,
	     EPROTO},
	    {"reply with unknown ATYP",
	     NULL,
	     {5, 0, 5, 0, 0, 9, 1, 2, 3, 4, 0, 1},
	     12,
	     false,
	     EPROTO},
	    {"closed mid-reply", NULL, {5, 0, 5, 0, 0, 1, 1, 2}, 8, true, ECONNRESET},
	    {"closed before anything", NULL, {0}, 0, true, ECONNRESET},
	};
	uint8_t sent[1024];
	size_t sent_len;
	char left[64];
	struct result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].user, "pw", SOCKS5_CMD_CONNECT, cases[i].answer, cases[i].len,
		    cases[i].close_after, &r, sent, &sent_len, left, sizeof(left));
		if (r.finals != 1 || r.err != cases[i].err)
			fail_msg("%s: finals %d err %d, want err %d", cases[i].what, r.finals,
				 r.err, cases[i].err);
	}
}

static void test_bind_two_replies(void **state)
{
	static const uint8_t answer[] = {5, 0, 5, 0, 0,	   1,	 203,  0,    113,  1,	 0x10, 0x00,
					 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0,	   0,	 0,    0,
					 0, 0, 0, 0, 0,	   0,	 0,    2,    0x12, 0x34, 'x'};
	uint8_t sent[1024];
	size_t sent_len;
	char left[64];
	struct result r;

	run(NULL, NULL, SOCKS5_CMD_BIND, answer, sizeof(answer), false, &r, sent, &sent_len, left,
	    sizeof(left));
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.finals, 1);
	assert_int_equal(r.bnd[0].atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(r.bnd[0].port, 0x1000);
	assert_int_equal(r.bnd[1].atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(r.bnd[1].port, 0x1234);
	assert_int_equal(r.bnd[1].v6.s6_addr[15], 2);
	assert_string_equal(left, "x");
}

/* Framing: the reader never asks for more than the reply still needs. */
static void test_reply_need(void **state)
{
	const uint8_t v4[] = {5, 0, 0, 1, 1, 2, 3, 4, 0, 80};
	const uint8_t name[] = {5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80};

	for (size_t i = 0; i <= sizeof(v4); i++)
		assert_int_equal(s5client_reply_need(v4, i), i < 5 ? 5 - i : sizeof(v4) - i);
	for (size_t i = 0; i <= sizeof(name); i++)
		assert_int_equal(s5client_reply_need(name, i), i < 5 ? 5 - i : sizeof(name) - i);
	assert_int_equal(s5client_reply_need((const uint8_t[]){5, 0, 0, 4, 0}, 5), 22 - 5);
	assert_int_equal(s5client_reply_need((const uint8_t[]){5, 0, 0, 7, 0}, 5), 0);
}

static void test_bad_start(void **state)
{
	struct socks5_addr dst = {0};
	char longname[300];
	struct s5client *c;

	memset(longname, 'u', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(socks5_addr_set_name(&dst, "x", 1), 0);
	assert_int_equal(
	    s5client_start(&c, NULL, -1, longname, "pw", SOCKS5_CMD_CONNECT, &dst, on_reply, NULL),
	    -EINVAL);
	assert_null(c);
	assert_int_equal(
	    s5client_start(&c, NULL, -1, "u", NULL, SOCKS5_CMD_CONNECT, &dst, on_reply, NULL),
	    -EINVAL);
	assert_null(c);
}

static void on_chosen(void *arg)
{
	((struct result *)arg)->calls += 100;
}

/* Pipelined: login and request leave with the greeting, before any answer, and only once;
 * the answers, read ahead together, never take a stream byte past the reply. */
static void test_pipeline(void **state)
{
	static const uint8_t want[] = {5, 1, 2,	  1,   3,   'b', 'o', 'b', 2,	'p', 'w', 5, 1, 0,
				       3, 9, 'w', 'e', 'b', '6', '.', 't', 'e', 's', 't', 0, 80};
	static const uint8_t answer[] = {5, 2, 1, 0, 5, 0, 0, 1, 198, 51, 100, 7, 0, 80, 'D', 'A'};
	struct socks5_addr dst = {0};
	char left[8] = "";
	uint8_t sent[1024];
	struct result r = {0};
	struct ev_timer t;
	struct s5client *c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(ev_loop_new(&r.loop), 0);
	assert_non_null(r.loop);
	ev_timer_init(&t, on_timeout);
	assert_int_equal(socks5_addr_set_name(&dst, "web6.test", 80), 0);
	assert_int_equal(
	    s5client_start(&c, r.loop, sv[0], "bob", "pw", SOCKS5_CMD_CONNECT, &dst, on_reply, &r),
	    0);
	assert_non_null(c);
	assert_int_equal(s5client_pipeline(c), 0);
	s5client_on_chosen(c, on_chosen);
	ev_timer_start(r.loop, &t, 100); /* only stops the loop: nothing answers yet */
	ev_run(r.loop);
	assert_int_equal(read(sv[1], sent, sizeof(sent)), (ssize_t)sizeof(want));
	assert_memory_equal(sent, want, sizeof(want));
	assert_int_equal(write(sv[1], answer, sizeof(answer)), (ssize_t)sizeof(answer));
	ev_timer_start(r.loop, &t, 2000);
	ev_run(r.loop);
	assert_int_equal(r.finals, 1);
	assert_int_equal(r.calls, 101); /* chosen once, then the reply */
	assert_int_equal(r.err, 0);
	assert_int_equal(r.rep[0], 0);
	assert_int_equal(read(sv[1], sent, sizeof(sent)), -1); /* nothing sent twice */
	assert_int_equal(recv(sv[0], left, sizeof(left) - 1, MSG_DONTWAIT), 2);
	assert_string_equal(left, "DA");
	ev_timer_stop(r.loop, &t);
	ev_loop_free(r.loop);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_no_auth), cmocka_unit_test(test_login_and_refusal),
	    cmocka_unit_test(test_failures),	    cmocka_unit_test(test_bind_two_replies),
	    cmocka_unit_test(test_reply_need),	    cmocka_unit_test(test_bad_start),
	    cmocka_unit_test(test_pipeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
