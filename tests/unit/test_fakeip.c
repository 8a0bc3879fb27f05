/* test_fakeip.c — the fake-IP table: both lookups, families, holds, LRU reuse, exhaustion,
 * persistence, autosave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/fakeip.h"

static struct fakeip *open_small(const char *cidr4, unsigned ttl, const char *state)
{
	struct fakeip_config cfg;
	struct fakeip *t;

	fakeip_config_default(&cfg);
	if (cidr4)
		assert_int_equal(fakeip_config_set_pool(&cfg, cidr4), 0);
	cfg.ttl_s = ttl;
	cfg.state_path = state;
	assert_int_equal(fakeip_open(&t, &cfg), 0);
	return t;
}

static void test_defaults_and_families(void **state)
{
	struct fakeip *t = open_small(NULL, 300, NULL);
	uint8_t a4[4], b4[4], a6[16];
	char name[256], s[64];

	assert_int_equal(fakeip_lookup_name(t, "Web6.Test.", AF_INET, a4, 1000), 0);
	inet_ntop(AF_INET, a4, s, sizeof(s));
	assert_string_equal(s, "198.18.0.1");
	assert_true(fakeip_in_pool(fakeip_get_config(t), AF_INET, a4));
	/* Same name, same address, whatever the case. */
	assert_int_equal(fakeip_lookup_name(t, "web6.test", AF_INET, b4, 1001), 0);
	assert_memory_equal(a4, b4, 4);
	/* The other family has its own pool. */
	assert_int_equal(fakeip_lookup_name(t, "web6.test", AF_INET6, a6, 1001), 0);
	inet_ntop(AF_INET6, a6, s, sizeof(s));
	assert_string_equal(s, "2001:2::1");
	assert_int_equal(fakeip_lookup_name(t, "other.test", AF_INET, b4, 1001), 0);
	assert_memory_not_equal(a4, b4, 4);
	assert_int_equal(fakeip_lookup_addr(t, AF_INET, a4, name, sizeof(name)), 0);
	assert_string_equal(name, "web6.test");
	assert_int_equal(fakeip_lookup_addr(t, AF_INET6, a6, name, sizeof(name)), 0);
	assert_string_equal(name, "web6.test");
	inet_pton(AF_INET, "198.18.3.3", b4);
	assert_int_equal(fakeip_lookup_addr(t, AF_INET, b4, name, sizeof(name)), -ENOENT);
	inet_pton(AF_INET, "10.0.0.1", b4);
	assert_false(fakeip_in_pool(fakeip_get_config(t), AF_INET, b4));
	fakeip_close(t);
}

static void test_bad_names(void **state)
{
	struct fakeip *t = open_small(NULL, 300, NULL);
	uint8_t a[4];
	char l64[80];

	assert_int_equal(fakeip_lookup_name(t, "", AF_INET, a, 1), -EINVAL);
	assert_int_equal(fakeip_lookup_name(t, ".", AF_INET, a, 1), -EINVAL);
	assert_int_equal(fakeip_lookup_name(t, "a..b", AF_INET, a, 1), -EINVAL);
	assert_int_equal(fakeip_lookup_name(t, "a b.c", AF_INET, a, 1), -EINVAL);
	memset(l64, 'a', 64);
	l64[64] = 0;
	assert_int_equal(fakeip_lookup_name(t, l64, AF_INET, a, 1), -EINVAL);
	assert_int_equal(fakeip_lookup_name(t, "x.y", AF_UNIX, a, 1), -EAFNOSUPPORT);
	fakeip_close(t);
}

static void test_exhaustion_and_lru_reuse(void **state)
{
	/* A /30 has two usable addresses: .1 and .2. */
	struct fakeip *t = open_small("198.51.100.0/30", 60, NULL);
	uint8_t a[4], b[4], c[4];
	char name[256];
	struct fakeip_stats st;

	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 100), 0);
	assert_int_equal(fakeip_lookup_name(t, "b.test", AF_INET, b, 110), 0);
	/* Both within their TTL: no wrong mapping, an error. */
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 150), -ENOSPC);
	/* a.test expired at 160, b.test at 170: a is the least recently used. */
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 161), 0);
	assert_memory_equal(c, a, 4);
	assert_int_equal(fakeip_lookup_addr(t, AF_INET, c, name, sizeof(name)), 0);
	assert_string_equal(name, "c.test");
	/* a.test is gone; asking for it again would take b's address only after 170. */
	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 165), -ENOSPC);
	fakeip_get_stats(t, &st);
	assert_int_equal(st.entries4, 2);
	assert_int_equal(st.reused, 1);
	assert_int_equal(st.exhausted, 2);
	fakeip_close(t);
}

static void test_touch_moves_to_back(void **state)
{
	struct fakeip *t = open_small("198.51.100.0/30", 10, NULL);
	uint8_t a[4], b[4], c[4];

	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 100), 0);
	assert_int_equal(fakeip_lookup_name(t, "b.test", AF_INET, b, 101), 0);
	/* Asking for a again makes b the oldest. */
	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 102), 0);
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 200), 0);
	assert_memory_equal(c, b, 4);
	fakeip_close(t);
}

static void test_held_entries_never_reused(void **state)
{
	struct fakeip *t = open_small("198.51.100.0/30", 10, NULL);
	uint8_t a[4], b[4], c[4];
	struct fakeip_stats st;

	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 100), 0);
	assert_int_equal(fakeip_lookup_name(t, "b.test", AF_INET, b, 100), 0);
	assert_int_equal(fakeip_hold(t, AF_INET, a, 100), 0);
	assert_int_equal(fakeip_hold(t, AF_INET, a, 100), 0);
	assert_int_equal(fakeip_hold(t, AF_INET, b, 100), 0);
	fakeip_get_stats(t, &st);
	assert_int_equal(st.held, 2);
	/* Long after the TTL, still held: exhaustion. */
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 10000), -ENOSPC);
	fakeip_release(t, AF_INET, a, 10000);
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 10005), -ENOSPC);
	/* Released at 10000 but one hold remains. */
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 20000), -ENOSPC);
	fakeip_release(t, AF_INET, a, 20000);
	/* Free now, but only TTL seconds after the release. */
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 20005), -ENOSPC);
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, c, 20010), 0);
	assert_memory_equal(c, a, 4);
	uint8_t nowhere[4] = {198, 51, 100, 3};

	assert_int_equal(fakeip_hold(t, AF_INET, nowhere, 1), -ENOENT);
	fakeip_release(t, AF_INET, nowhere, 1); /* harmless */
	fakeip_close(t);
}

static void test_pool_config(void **state)
{
	struct fakeip_config cfg;

	fakeip_config_default(&cfg);
	assert_int_equal(fakeip_config_set_pool(&cfg, "10.64.0.0/10"), 0);
	assert_int_equal(cfg.prefix4, 10);
	assert_int_equal(fakeip_config_set_pool(&cfg, "fd00:46::/64"), 0);
	assert_int_equal(cfg.prefix6, 64);
	assert_int_equal(fakeip_config_set_pool(&cfg, "10.64.0.1/10"), -EINVAL);
	assert_int_equal(fakeip_config_set_pool(&cfg, "224.0.0.0/8"), -EINVAL);
	assert_int_equal(fakeip_config_set_pool(&cfg, "ff00::/8"), -EINVAL);
	assert_int_equal(fakeip_config_set_pool(&cfg, "10.0.0.0/31"), -EINVAL);
	assert_int_equal(fakeip_config_set_pool(&cfg, "10.0.0.0"), -EINVAL);
	assert_int_equal(fakeip_config_set_pool(&cfg, "10.0.0.0/x"), -EINVAL);
	assert_int_equal(fakeip_config_set_pool(&cfg, "junk/8"), -EINVAL);
	assert_int_equal(fakeip_config_set_ttl(&cfg, "60"), 0);
	assert_int_equal(cfg.ttl_s, 60);
	assert_int_equal(fakeip_config_set_ttl(&cfg, "0"), -EINVAL);
	assert_int_equal(fakeip_config_set_ttl(&cfg, "-5"), -EINVAL);
	assert_int_equal(fakeip_config_set_ttl(&cfg, "5s"), -EINVAL);
}

static void test_ipv6_pool_and_big_table(void **state)
{
	struct fakeip_config cfg;
	struct fakeip *t;
	uint8_t a[16];
	char name[64], back[256];

	fakeip_config_default(&cfg);
	assert_int_equal(fakeip_open(&t, &cfg), 0);
	/* Enough entries to resize the hash tables several times. */
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "host%d.example", i);
		assert_int_equal(fakeip_lookup_name(t, name, AF_INET6, a, 1), 0);
		assert_true(fakeip_in_pool(&cfg, AF_INET6, a));
	}
	for (int i = 0; i < 5000; i += 499) {
		snprintf(name, sizeof(name), "host%d.example", i);
		assert_int_equal(fakeip_lookup_name(t, name, AF_INET6, a, 2), 0);
		assert_int_equal(fakeip_lookup_addr(t, AF_INET6, a, back, sizeof(back)), 0);
		assert_string_equal(back, name);
	}
	fakeip_close(t);
}

static void count_cb(const char *name, int af, const void *addr, unsigned refs, uint64_t last,
		     void *arg)
{
	(*(int *)arg)++;
}

static void test_persistence(void **state)
{
	char path[] = "/tmp/test_fakeip.XXXXXX";
	char statef[64], name[256];
	uint8_t a[4], b6[16], x[4];
	struct fakeip *t;
	int fd = mkstemp(path), n = 0;
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(statef, sizeof(statef), "%s.state", path);
	t = open_small("198.51.100.0/29", 60, statef);
	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 100), 0);
	assert_int_equal(fakeip_lookup_name(t, "six.test", AF_INET6, b6, 100), 0);
	assert_int_equal(fakeip_lookup_name(t, "b.test", AF_INET, x, 101), 0);
	assert_int_equal(fakeip_flush(t), 0);
	assert_int_equal(access(statef, R_OK), 0);
	fakeip_close(t);

	t = open_small("198.51.100.0/29", 60, statef);
	fakeip_walk(t, count_cb, &n);
	assert_int_equal(n, 3);
	assert_int_equal(fakeip_lookup_addr(t, AF_INET, a, name, sizeof(name)), 0);
	assert_string_equal(name, "a.test");
	assert_int_equal(fakeip_lookup_addr(t, AF_INET6, b6, name, sizeof(name)), 0);
	assert_string_equal(name, "six.test");
	/* A new name does not take a loaded address. */
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, x, 102), 0);
	assert_memory_not_equal(x, a, 4);
	fakeip_close(t);

	/* A changed pool drops the IPv4 entries that no longer fit, keeps the rest. */
	t = open_small("203.0.113.0/29", 60, statef);
	assert_int_equal(fakeip_lookup_addr(t, AF_INET, a, name, sizeof(name)), -ENOENT);
	assert_int_equal(fakeip_lookup_addr(t, AF_INET6, b6, name, sizeof(name)), 0);
	fakeip_close(t);

	/* Stamps from the future (the clock went back) do not pin a full pool forever. */
	f = fopen(statef, "w");
	assert_non_null(f);
	fputs("# socks46 fake-IP table v1\n198.51.100.1 99999999999 a.test\n"
	      "198.51.100.2 99999999999 b.test\n",
	      f);
	fclose(f);
	t = open_small("198.51.100.0/30", 60, statef);
	assert_int_equal(fakeip_lookup_name(t, "c.test", AF_INET, x, (uint64_t)time(NULL) + 61), 0);
	fakeip_close(t);

	/* Garbage is ignored, not fatal. */
	f = fopen(statef, "w");
	assert_non_null(f);
	fputs("garbage\n", f);
	fclose(f);
	t = open_small(NULL, 60, statef);
	n = 0;
	fakeip_walk(t, count_cb, &n);
	assert_int_equal(n, 0);
	fakeip_close(t);
	unlink(statef);
}

struct autosave_wait {
	struct ev_timer t;
	const char *path;
	unsigned rounds;
};

/* Polls for the state file every 10 ms, for at most 5 s. */
static void autosave_poll_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct autosave_wait *w = container_of(t, struct autosave_wait, t);

	if (access(w->path, R_OK) == 0 || ++w->rounds == 500)
		ev_stop(loop);
	else
		ev_timer_start(loop, t, 10);
}

/* With autosave a new mapping reaches the state file from the loop, without a flush. */
static void test_autosave(void **state)
{
	char path[] = "/tmp/test_fakeip.XXXXXX", statef[64];
	struct ev_loop *loop = NULL;

	assert_int_equal(ev_loop_new(&loop), 0);
	struct autosave_wait w = {.path = statef};
	uint8_t a[4];
	struct fakeip *t;
	int fd = mkstemp(path);

	assert_non_null(loop);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(statef, sizeof(statef), "%s.state", path);
	t = open_small("198.51.100.0/29", 60, statef);
	fakeip_autosave(t, loop);
	assert_int_equal(fakeip_lookup_name(t, "a.test", AF_INET, a, 100), 0);
	assert_int_equal(access(statef, R_OK), -1);
	ev_timer_init(&w.t, autosave_poll_cb);
	ev_timer_start(loop, &w.t, 10);
	ev_run(loop);
	assert_int_equal(access(statef, R_OK), 0);
	/* Saved: nothing left to flush. */
	unlink(statef);
	assert_int_equal(fakeip_flush(t), 0);
	assert_int_equal(access(statef, R_OK), -1);
	fakeip_close(t);
	assert_int_equal(access(statef, R_OK), 0);
	unlink(statef);
	ev_timer_stop(loop, &w.t);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_families),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_exhaustion_and_lru_reuse),
	    cmocka_unit_test(test_touch_moves_to_back),
	    cmocka_unit_test(test_held_entries_never_reused),
	    cmocka_unit_test(test_pool_config),
	    cmocka_unit_test(test_ipv6_pool_and_big_table),
	    cmocka_unit_test(test_persistence),
	    cmocka_unit_test(test_autosave),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
