/* test_srvlist.c — SOCKS5 server lists: failover order, health, swapping under live walks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "srvlist.h"

static struct srv *srv_at(const char *text, const char *user, const char *pass)
{
	struct sockaddr_storage ss;
	struct srv *s;

	assert_int_equal(addr_parse(text, 0, &ss, NULL), 0);
	assert_int_equal(srv_new_addr(&s, (struct sockaddr *)&ss, user, pass), 0);
	return s;
}

/* A list of the servers at the given addresses (no login), in order. */
static struct srvlist *list_of(const char *const *addrs)
{
	struct srvlist *l;

	assert_int_equal(srvlist_new(&l), 0);
	for (; *addrs; addrs++) {
		struct srv *s = srv_at(*addrs, NULL, NULL);

		assert_int_equal(srvlist_add(l, s), 0);
		srv_free(s);
	}
	return l;
}

/* The names a new walk at time now goes through, comma-separated. */
static const char *walk(struct srvlist *l, uint64_t now)
{
	static char buf[512];
	struct srvlist_iter it;
	struct srv *s;
	size_t n = 0;

	buf[0] = '\0';
	srvlist_iter_start(&it, l);
	while ((s = srvlist_next(&it, now)))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "", s->name);
	srvlist_iter_end(&it);
	return buf;
}

/* The server at position i (at a time when none is bad any more). */
static struct srv *nth(struct srvlist *l, unsigned i)
{
	struct srvlist_iter it;
	struct srv *s = NULL;

	srvlist_iter_start(&it, l);
	while (i-- + 1)
		s = srvlist_next(&it, UINT64_MAX);
	srvlist_iter_end(&it);
	return s;
}

static void test_record(void **state)
{
	struct srv *a = srv_at("[2001:db8::1]:1080", "alice", "s3cret");
	struct srv *b = srv_at("[2001:db8::1]:1080", "alice", "other");
	struct srv *c = srv_at("198.51.100.1:1080", NULL, NULL);

	assert_string_equal(a->name, "[2001:db8::1]:1080");
	assert_int_equal(a->port, 1080);
	assert_null(a->host);
	assert_string_equal(a->user, "alice");
	assert_string_equal(a->pass, "s3cret");
	assert_null(c->user);
	assert_true(srv_same_place(a, b));
	assert_false(srv_same(a, b));
	assert_false(srv_same_place(a, c));
	assert_true(srv_same(c, c));
	srv_free(a);
	srv_free(b);
	srv_free(c);
	srv_free(NULL);
}

/* Every fail_limit-th failure in a row marks bad; a success forgives; bad time 0 never skips. */
static void test_health(void **state)
{
	struct srv *s = srv_at("198.51.100.1:1080", NULL, NULL);

	assert_false(srv_report(s, false, 1000, 2, 5000));
	assert_false(srv_is_bad(s, 1000));
	assert_true(srv_report(s, false, 1000, 2, 5000));
	assert_true(srv_is_bad(s, 5999));
	assert_false(srv_is_bad(s, 6000));
	assert_int_equal(srv_failures(s), 2);
	assert_false(srv_report(s, false, 7000, 2, 5000));
	assert_false(srv_is_bad(s, 7000));
	assert_true(srv_report(s, false, 7000, 2, 5000));
	assert_true(srv_is_bad(s, 7000));
	srv_report(s, true, 8000, 2, 5000);
	assert_false(srv_is_bad(s, 8000));
	assert_int_equal(srv_failures(s), 0);
	/* The agent's policy: every failure backs off. */
	assert_true(srv_report(s, false, 9000, 1, 5000));
	assert_int_equal(srv_failures(s), 1);
	assert_false(srv_report(s, false, 9000, 1, 0));
	assert_false(srv_is_bad(s, 9000 + 5000));
	srv_free(s);
}

/* Good servers first in order, bad ones after them, all bad: in order anyway. */
static void test_failover_order(void **state)
{
	static const char *const addrs[] = {"198.51.100.1:1", "198.51.100.2:2", "198.51.100.3:3",
					    NULL};
	struct srvlist *l = list_of(addrs);
	struct srvlist_iter it;

	assert_int_equal(srvlist_count(l), 3);
	assert_string_equal(walk(l, 0), "198.51.100.1:1,198.51.100.2:2,198.51.100.3:3");
	srv_report(nth(l, 0), false, 0, 1, 1000);
	assert_string_equal(walk(l, 10), "198.51.100.2:2,198.51.100.3:3,198.51.100.1:1");
	srv_report(nth(l, 2), false, 0, 1, 1000);
	assert_string_equal(walk(l, 10), "198.51.100.2:2,198.51.100.1:1,198.51.100.3:3");
	srv_report(nth(l, 1), false, 0, 1, 1000);
	assert_string_equal(walk(l, 10), "198.51.100.1:1,198.51.100.2:2,198.51.100.3:3");
	assert_string_equal(walk(l, 1000), "198.51.100.1:1,198.51.100.2:2,198.51.100.3:3");
	/* A server that turns bad during a walk is still tried once. */
	srvlist_iter_start(&it, l);
	assert_int_equal(srvlist_iter_count(&it), 3);
	assert_ptr_equal(srvlist_next(&it, 2000), nth(l, 0));
	srv_report(nth(l, 2), false, 2000, 1, 1000);
	assert_true(srvlist_iter_left(&it));
	assert_ptr_equal(srvlist_next(&it, 2000), nth(l, 1));
	assert_true(srvlist_iter_left(&it));
	assert_ptr_equal(srvlist_next(&it, 2000), nth(l, 2));
	assert_false(srvlist_iter_left(&it));
	assert_null(srvlist_next(&it, 2000));
	srvlist_iter_end(&it);
	srvlist_iter_end(&it);
	srvlist_free(l);
	srvlist_free(NULL);
}

static void test_full(void **state)
{
	struct srvlist *l;
	struct srvlist_iter it;
	struct srv *s = srv_at("198.51.100.1:1080", NULL, NULL);
	unsigned n = 0;

	assert_int_equal(srvlist_new(&l), 0);
	for (unsigned i = 0; i < SRVLIST_MAX; i++)
		assert_int_equal(srvlist_add(l, s), 0);
	assert_int_equal(srvlist_add(l, s), -E2BIG);
	srv_free(s);
	srvlist_iter_start(&it, l);
	while (srvlist_iter_left(&it)) {
		assert_non_null(srvlist_next(&it, 0));
		n++;
	}
	assert_null(srvlist_next(&it, 0));
	assert_int_equal(n, SRVLIST_MAX);
	srvlist_iter_end(&it);
	srvlist_free(l);
}

static void swap_cb(const struct srv *s, void *arg)
{
	char *buf = arg;

	snprintf(buf + strlen(buf), 512 - strlen(buf), "%s%s=%u", buf[0] ? "," : "", s->name,
		 srv_failures(s));
}

/*
 * A reload: a server in both lists keeps its health (the same object with the
 * same login, a copy with another), a new one starts healthy, and a walk that
 * started before the swap finishes on the servers it started with.
 */
static void test_swap(void **state)
{
	static const char *const before[] = {"198.51.100.1:1", "198.51.100.2:2", NULL};
	struct srvlist *l = list_of(before), *next;
	struct srv *one = nth(l, 0), *two = nth(l, 1), *s;
	struct srvlist_iter it;
	char buf[512] = "";

	srv_report(one, false, 0, 1, 1000);
	srv_report(two, false, 0, 1, 1000);
	srv_report(two, false, 0, 1, 1000);
	srvlist_iter_start(&it, l);
	assert_ptr_equal(srvlist_next(&it, 0), one);

	assert_int_equal(srvlist_new(&next), 0);
	s = srv_at("198.51.100.3:3", NULL, NULL);
	assert_int_equal(srvlist_add(next, s), 0);
	srv_free(s);
	s = srv_at("198.51.100.2:2", "alice", "pw");
	assert_int_equal(srvlist_add(next, s), 0);
	srv_free(s);
	s = srv_at("198.51.100.1:1", NULL, NULL);
	assert_int_equal(srvlist_add(next, s), 0);
	srv_free(s);
	srvlist_swap(l, next);

	srvlist_walk(l, swap_cb, buf);
	assert_string_equal(buf, "198.51.100.3:3=0,198.51.100.2:2=2,198.51.100.1:1=1");
	assert_ptr_equal(nth(l, 2), one);
	assert_ptr_not_equal(nth(l, 1), two);
	assert_string_equal(nth(l, 1)->user, "alice");
	assert_true(srv_is_bad(nth(l, 1), 10));
	assert_string_equal(walk(l, 10), "198.51.100.3:3,198.51.100.2:2,198.51.100.1:1");
	/* The old walk goes on with the old servers: two is still alive for it. */
	assert_ptr_equal(srvlist_next(&it, 0), two);
	assert_string_equal(two->name, "198.51.100.2:2");
	srv_report(two, true, 10, 1, 1000);
	assert_null(srvlist_next(&it, 0));
	srvlist_iter_end(&it);
	/* A report on a shared server reaches the new list. */
	srv_report(one, true, 10, 1, 1000);
	assert_int_equal(srv_failures(nth(l, 2)), 0);
	srvlist_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record),	   cmocka_unit_test(test_health),
	    cmocka_unit_test(test_failover_order), cmocka_unit_test(test_full),
	    cmocka_unit_test(test_swap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
