/* test_gwconf.c — the gateway configuration: defaults, every key, file errors naming FILE:LINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "gateway/gwconf.h"
#include "log.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/s46_gwconf_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults(void **state)
{
	struct gwconf c;
	char buf[ADDR_STRLEN];

	gwconf_defaults(&c);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(addr_format((struct sockaddr *)&c.listen[0], buf, sizeof(buf)),
			    "127.0.0.1:1080");
	assert_string_equal(addr_format((struct sockaddr *)&c.listen[1], buf, sizeof(buf)),
			    "[::1]:1080");
	assert_int_equal(c.he_delay_ms, 250);
	assert_int_equal(c.prefer, AF_INET6);
	assert_int_equal(c.handshake_timeout_s, 10);
	assert_int_equal(c.connect_timeout_s, 10);
	assert_int_equal(c.idle_timeout_s, 300);
	assert_int_equal(c.max_conns, 0);
	assert_int_equal(c.mark, 0);
	assert_null(c.users_file);
	gwconf_free(&c);
}

static void test_file_all_keys(void **state)
{
	const char *path = write_tmp("# gateway\n"
				     "listen 0.0.0.0:1081   # v4\n"
				     "listen [::]:1081\n"
				     "\n"
				     "users /etc/socks46/users\n"
				     "threads 3\n"
				     "log-level debug\n"
				     "he-delay 100\n"
				     "prefer ipv4\n"
				     "handshake-timeout 5\n"
				     "connect-timeout 7\n"
				     "idle-timeout 0\n"
				     "drain-timeout 2\n"
				     "max-conns 5000\n"
				     "resolv-conf /etc/netns/x/resolv.conf\n"
				     "dns-server 203.0.113.53,[2001:db8::53]:5353\n"
				     "\tmark 0x5346\n");
	char err[CONF_ERRLEN], buf[ADDR_STRLEN];
	struct gwconf c;

	gwconf_defaults(&c);
	assert_int_equal(gwconf_load_file(&c, path, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(addr_format((struct sockaddr *)&c.listen[0], buf, sizeof(buf)),
			    "0.0.0.0:1081");
	assert_string_equal(addr_format((struct sockaddr *)&c.listen[1], buf, sizeof(buf)),
			    "[::]:1081");
	assert_string_equal(c.users_file, "/etc/socks46/users");
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.he_delay_ms, 100);
	assert_int_equal(c.prefer, AF_INET);
	assert_int_equal(c.handshake_timeout_s, 5);
	assert_int_equal(c.connect_timeout_s, 7);
	assert_int_equal(c.idle_timeout_s, 0);
	assert_int_equal(c.drain_timeout_s, 2);
	assert_int_equal(c.max_conns, 5000);
	assert_string_equal(c.resolv_conf, "/etc/netns/x/resolv.conf");
	assert_string_equal(c.dns_server, "203.0.113.53,[2001:db8::53]:5353");
	assert_int_equal(c.mark, 0x5346);
	gwconf_free(&c);
}

static void assert_file_error(const char *text, const char *want_suffix)
{
	const char *path = write_tmp(text);
	char err[CONF_ERRLEN], want[CONF_ERRLEN];
	struct gwconf c;

	gwconf_defaults(&c);
	assert_true(gwconf_load_file(&c, path, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s:%s", path, want_suffix);
	print_message("got: %s\n", err);
	assert_string_equal(err, want);
	unlink(path);
	gwconf_free(&c);
}

static void test_file_errors(void **state)
{
	assert_file_error("threads 2\nbogus 1\n", "2: unknown key 'bogus'");
	assert_file_error("\n\nthreads\n", "3: missing value for 'threads'");
	assert_file_error("threads 0\n", "1: threads: '0' is not a number in 1..1024");
	assert_file_error("threads 2x\n", "1: threads: '2x' is not a number in 1..1024");
	assert_file_error(
	    "# x\nlisten localhost:80\n",
	    "2: listen: 'localhost:80' is not ADDR:PORT (e.g. 127.0.0.1:1080 or [::1]:1080)");
	assert_file_error("prefer ipv5\n", "1: prefer: 'ipv5' is not ipv4 or ipv6");
	assert_file_error("log-level loud\n",
			  "1: log-level: 'loud' is not one of error, warn, info, debug");
	assert_file_error("dns-server 1.2.3.4,resolver\n",
			  "1: dns-server: 'resolver' is not an IP address with optional port");
	assert_file_error("he-delay 99999\n", "1: he-delay: '99999' is not a number in 10..10000");
	assert_file_error("max-conns -1\n", "1: max-conns: '-1' is not a number in 1..10000000");
	assert_file_error("mark 0x100000000\n",
			  "1: mark: '0x100000000' is not a number in 0..4294967295");
	/* Issue 5 keys: routes name upstreams defined above them. */
	assert_file_error("upstream a 198.51.100.1:1080\nroute to .x.test via a,b\n",
			  "2: route: unknown upstream 'b'");
	assert_file_error("route to .x.test via a\nupstream a 198.51.100.1:1080\n",
			  "1: route: unknown upstream 'a'");
	assert_file_error("upstream a 198.51.100.1:1080\nupstream a 198.51.100.2:1080\n",
			  "2: upstream a: defined twice");
	assert_file_error("bind-timeout 0\n", "1: bind-timeout: '0' is not a number in 1..3600");
	assert_file_error("processes 65\n", "1: processes: '65' is not a number in 1..64");
	assert_file_error("upstream-fail-limit 0\n",
			  "1: upstream-fail-limit: '0' is not a number in 1..1000");
}

static void test_missing_file(void **state)
{
	char err[CONF_ERRLEN];
	struct gwconf c;

	gwconf_defaults(&c);
	assert_int_equal(gwconf_load_file(&c, "/nonexistent/s46.conf", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/s46.conf: cannot open: No such file or directory");
}

static void test_listen_replaces_default_then_adds(void **state)
{
	char err[CONF_ERRLEN];
	struct gwconf c;

	gwconf_defaults(&c);
	assert_int_equal(gwconf_set(&c, "listen", "198.51.100.1:1080", err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	assert_int_equal(gwconf_set(&c, "listen", "[2001:db8::1]:1080", err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 2);
	/* A later layer (the command line over the file) starts its own list. */
	c.listen_is_default = true;
	assert_int_equal(gwconf_set(&c, "listen", "127.0.0.1:9", err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	for (int i = 0; i < GWCONF_MAX_LISTEN - 1; i++)
		assert_int_equal(gwconf_set(&c, "listen", "127.0.0.1:9", err, sizeof(err)), 0);
	assert_int_equal(gwconf_set(&c, "listen", "127.0.0.1:9", err, sizeof(err)), -EINVAL);
	assert_int_equal(gwconf_set(&c, "nope", "1", err, sizeof(err)), -ENOENT);
	gwconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_file_all_keys),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_listen_replaces_default_then_adds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
