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

/* The same under a key. */
static const char *walk_key(struct srvlist *l, const char *key, uint64_t now)
{
	static char buf[512];
	struct srvlist_iter it;
	struct srv *s;
	size_t n = 0;

	buf[0] = '\0';
	srvlist_iter_start_key(&it, l, key, now);
	while ((s = srvlist_next(&it, now)))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "", s->name);
	srvlist_iter_end(&it);
	return buf;
}

/* The first server a walk under key picks. */
static struct srv *first_key(struct srvlist *l, const char *key)
{
	struct srvlist_iter it;
	struct srv *s;

	srvlist_iter_start_key(&it, l, key, 0);
	s = srvlist_next(&it, 0);
	srvlist_iter_end(&it);
	return s;
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

static const char *const abc[] = {"198.51.100.1:1080", "198.51.100.2:1080", "198.51.100.3:1080",
				  NULL};

static void test_policy_names(void **state)
{
	enum srvlist_policy p;
	const char *names[] = {"failover", "round-robin", "least-conns", "hash"};

	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(srvlist_policy_parse(names[i], &p), 0);
		assert_string_equal(srvlist_policy_name(p), names[i]);
	}
	assert_int_equal(srvlist_policy_parse("random", &p), -EINVAL);
	assert_int_equal(srvlist_policy_parse("", &p), -EINVAL);
	assert_int_equal(srvlist_policy_parse("Hash", &p), -EINVAL);
}

static void test_round_robin(void **state)
{
	struct srvlist *l = list_of(abc);
	struct srv *a = nth(l, 0), *b = nth(l, 1);

	assert_int_equal(srvlist_get_policy(l), SRVLIST_FAILOVER);
	srvlist_set_policy(l, SRVLIST_ROUND_ROBIN);
	assert_string_equal(walk(l, 0), "198.51.100.1:1080,198.51.100.2:1080,198.51.100.3:1080");
	assert_string_equal(walk(l, 0), "198.51.100.2:1080,198.51.100.3:1080,198.51.100.1:1080");
	assert_string_equal(walk(l, 0), "198.51.100.3:1080,198.51.100.1:1080,198.51.100.2:1080");
	assert_string_equal(walk(l, 0), "198.51.100.1:1080,198.51.100.2:1080,198.51.100.3:1080");
	/* A server down by its health check comes last, whatever the turn. */
	srv_health(a, false);
	assert_string_equal(walk(l, 0), "198.51.100.2:1080,198.51.100.3:1080,198.51.100.1:1080");
	assert_string_equal(walk(l, 0), "198.51.100.3:1080,198.51.100.2:1080,198.51.100.1:1080");
	/* One failing recently: the other two share its turns evenly. */
	srv_health(a, true);
	srv_report(b, false, 100, 1, 1000);
	for (unsigned i = 0, na = 0; i < 6; i++) {
		const char *w = walk_key(l, NULL, 200);

		assert_string_equal(w + 36, "198.51.100.2:1080");
		na += !strncmp(w, "198.51.100.1:1080", 17);
		if (i == 5)
			assert_int_equal(na, 3);
	}
	srvlist_free(l);
}

static void test_least_conns(void **state)
{
	struct srvlist *l = list_of(abc);
	struct srv *a = nth(l, 0), *b = nth(l, 1), *c = nth(l, 2);

	srvlist_set_policy(l, SRVLIST_LEAST_CONNS);
	/* All idle: they take turns. */
	assert_string_equal(walk(l, 0), "198.51.100.1:1080,198.51.100.2:1080,198.51.100.3:1080");
	assert_string_equal(walk(l, 0), "198.51.100.2:1080,198.51.100.3:1080,198.51.100.1:1080");
	srv_conn_begin(a);
	srv_conn_begin(a);
	srv_conn_begin(b);
	assert_int_equal(srv_inflight(a), 2);
	assert_int_equal(srv_total(a), 2);
	assert_string_equal(walk(l, 0), "198.51.100.3:1080,198.51.100.2:1080,198.51.100.1:1080");
	assert_string_equal(walk(l, 0), "198.51.100.3:1080,198.51.100.2:1080,198.51.100.1:1080");
	srv_conn_begin(c);
	srv_conn_begin(c);
	srv_conn_begin(c);
	assert_string_equal(walk(l, 0), "198.51.100.2:1080,198.51.100.1:1080,198.51.100.3:1080");
	srv_conn_end(a);
	srv_conn_end(a);
	assert_int_equal(srv_inflight(a), 0);
	assert_int_equal(srv_total(a), 2);
	assert_string_equal(walk(l, 0), "198.51.100.1:1080,198.51.100.2:1080,198.51.100.3:1080");
	/* Two idle ones take turns, the busy one last. */
	srv_conn_begin(c);
	assert_string_equal(walk(l, 0), "198.51.100.1:1080,198.51.100.2:1080,198.51.100.3:1080");
	srv_conn_end(b);
	assert_string_equal(walk(l, 0), "198.51.100.2:1080,198.51.100.1:1080,198.51.100.3:1080");
	assert_string_equal(walk(l, 0), "198.51.100.1:1080,198.51.100.2:1080,198.51.100.3:1080");
	assert_string_equal(walk(l, 0), "198.51.100.2:1080,198.51.100.1:1080,198.51.100.3:1080");
	/* The least busy one failing recently goes last. */
	srv_report(a, false, 100, 1, 1000);
	assert_string_equal(walk(l, 200), "198.51.100.2:1080,198.51.100.3:1080,198.51.100.1:1080");
	srvlist_free(l);
}

static void test_hash(void **state)
{
	static const char *const abcd[] = {"198.51.100.1:1080", "198.51.100.2:1080",
					   "198.51.100.3:1080", "198.51.100.4:1080", NULL};
	static const char *const acd[] = {"198.51.100.1:1080", "198.51.100.3:1080",
					  "198.51.100.4:1080", NULL};
	struct srvlist *l = list_of(abcd), *fewer = list_of(acd);
	struct srv *was[400], *at[4];
	unsigned count[4] = {0}, moved = 0;
	char key[64];

	for (unsigned k = 0; k < 4; k++)
		at[k] = srv_ref(nth(l, k));
	srvlist_set_policy(l, SRVLIST_HASH);
	srvlist_set_policy(fewer, SRVLIST_HASH);
	for (unsigned i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "site%u.example", i);
		was[i] = first_key(l, key);
		/* One key, one server, every time. */
		assert_ptr_equal(first_key(l, key), was[i]);
		for (unsigned k = 0; k < 4; k++)
			count[k] += was[i] == at[k];
	}
	/* Spread: each of four gets a fair share of 400 (100 expected). */
	for (unsigned k = 0; k < 4; k++)
		assert_in_range(count[k], 60, 140);
	/* A walk still reaches every server, the first one first. */
	assert_string_equal(walk_key(l, "www.example", 0), walk_key(l, "www.example", 0));
	assert_int_equal(strlen(walk_key(l, "www.example", 0)), 4 * 17 + 3);
	/* Without the second server only its keys move; the others keep theirs. */
	srvlist_swap(l, fewer);
	for (unsigned i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "site%u.example", i);
		if (!strcmp(was[i]->name, "198.51.100.2:1080"))
			moved++;
		else
			assert_string_equal(first_key(l, key)->name, was[i]->name);
	}
	assert_int_equal(moved, count[1]);
	/* A bad server's keys go to their second choice, the same one each time. */
	srv_health(first_key(l, "www.example"), false);
	assert_ptr_not_equal(first_key(l, "www.example"), NULL);
	assert_false(srv_is_down(first_key(l, "www.example")));
	assert_ptr_equal(first_key(l, "www.example"), first_key(l, "www.example"));
	srvlist_free(l);
	for (unsigned k = 0; k < 4; k++)
		srv_free(at[k]);
}

static void test_health_checks(void **state)
{
	struct srv *s = srv_at("198.51.100.1:1080", NULL, NULL);

	srv_health(s, false);
	assert_true(srv_is_down(s));
	assert_true(srv_is_bad(s, UINT64_MAX));
	srv_health(s, true);
	assert_false(srv_is_bad(s, 0));
	/* A passing check also forgets recent failures. */
	srv_report(s, false, 100, 1, 1000);
	assert_true(srv_is_bad(s, 200));
	srv_health(s, true);
	assert_false(srv_is_bad(s, 200));
	assert_int_equal(srv_failures(s), 0);
	/* A connection that works brings a server that was down back as well. */
	srv_health(s, false);
	srv_report(s, true, 300, 1, 1000);
	assert_false(srv_is_bad(s, 300));
	srv_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record),	   cmocka_unit_test(test_health),
	    cmocka_unit_test(test_failover_order), cmocka_unit_test(test_full),
	    cmocka_unit_test(test_swap),	   cmocka_unit_test(test_policy_names),
	    cmocka_unit_test(test_round_robin),	   cmocka_unit_test(test_least_conns),
	    cmocka_unit_test(test_hash),	   cmocka_unit_test(test_health_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
