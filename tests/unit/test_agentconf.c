/* test_agentconf.c — the agent's key table: file and options, switches, what goes together. */
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
#include <unistd.h>

#include "addr.h"
#include "agent/agentconf.h"
#include "log.h"
#include "s46_bpf.h"

static char tmp_path[64];

static const char *write_tmp(const char *text)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/s46_agentconf_XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmp_path;
}

/* Builds from a file (text, or none when NULL) and a command line. */
static int build(struct agentconf *c, const char *text, char **args, bool *usage, char *err)
{
	char *argv[32] = {"agent"};
	struct conf_cmdline cl;
	int argc = 1, rc;

	while (args && args[argc - 1])
		argv[argc] = args[argc - 1], argc++;
	assert_int_equal(
	    conf_cmdline_parse(&cl, agentconf_keys, NULL, argc, argv, err, CONF_ERRLEN), 0);
	if (text)
		cl.config = write_tmp(text);
	rc = agentconf_build(c, &cl, usage, err, CONF_ERRLEN);
	if (text)
		unlink(tmp_path);
	conf_cmdline_free(&cl);
	return rc;
}

static void test_defaults(void **state)
{
	char *args[] = {"--gateway", "[2001:db8::1]:1080", NULL}, err[CONF_ERRLEN];
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c, NULL, args, &usage, err), 0);
	assert_int_equal(c.rcfg.ngateways, 1);
	assert_int_equal(c.proxy_port, S46_PROXY_PORT_DEFAULT);
	assert_int_equal(c.dns_port, S46_DNS_PORT_DEFAULT);
	assert_int_equal(c.mark, S46_MARK_DEFAULT);
	assert_int_equal(c.rcfg.connect_ms, 2000);
	assert_string_equal(c.pin_dir, "/sys/fs/bpf/socks46");
	assert_string_equal(c.fcfg.state_path, "/var/lib/socks46/fakeip.state");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_false(c.no_dns);
	assert_false(c.fast_path);
	assert_string_equal(c.rcfg.target.literal_suffix, "ipv6-literal.net");
	assert_string_equal(c.dcfg.literal_suffix, "ipv6-literal.net");
	assert_int_equal(c.rcfg.target.nnat64, 0);
	agentconf_free(&c);
}

static void test_file_every_key(void **state)
{
	char *args[] = {"--gateway", "198.51.100.9:1080", "--no-fake", "cli.test", NULL};
	char err[CONF_ERRLEN], buf[ADDR_STRLEN];
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c,
			       "# agent\n"
			       "gateway [2001:db8::1]:1080\n"
			       "gateway localhost:1081\n"
			       "cgroup system.slice/a.service\n"
			       "cgroup /sys/fs/cgroup/b\n"
			       "user alice\n"
			       "password-file /etc/socks46/pw\n"
			       "control /run/x.sock\n"
			       "pin-dir /sys/fs/bpf/x\n"
			       "proxy-port 2000\n"
			       "dns-port 2053\n"
			       "dns-upstream 203.0.113.53\n"
			       "no-fake corp.example\n"
			       "no-dns no\n"
			       "check-exists\n"
			       "fast-path\n"
			       "fake-pool4 198.18.0.0/16\n"
			       "fake-pool6 2001:2:0:1::/64\n"
			       "fake-ttl 60\n"
			       "fake-state none\n"
			       "via-gateway 203.0.113.0/24\n"
			       "nat64-prefix 64:ff9b::/96\n"
			       "nat64-prefix 2001:db8:64::/64\n"
			       "literal-suffix v6.example\n"
			       "mark 0x10\n"
			       "connect-timeout 500\n"
			       "log-level debug\n",
			       args, &usage, err),
			 0);
	/* The file first, then the command line. */
	assert_int_equal(c.rcfg.ngateways, 3);
	assert_string_equal(addr_format((struct sockaddr *)&c.rcfg.gateways[0], buf, sizeof(buf)),
			    "[2001:db8::1]:1080");
	assert_int_equal(addr_port((struct sockaddr *)&c.rcfg.gateways[1]), 1081);
	assert_string_equal(addr_format((struct sockaddr *)&c.rcfg.gateways[2], buf, sizeof(buf)),
			    "198.51.100.9:1080");
	assert_int_equal(c.ncgroups, 2);
	assert_string_equal(c.cgroups[0], "system.slice/a.service");
	assert_string_equal(c.rcfg.user, "alice");
	assert_string_equal(c.password_file, "/etc/socks46/pw");
	assert_string_equal(c.control, "/run/x.sock");
	assert_string_equal(c.pin_dir, "/sys/fs/bpf/x");
	assert_int_equal(c.proxy_port, 2000);
	assert_int_equal(c.dns_port, 2053);
	assert_true(c.upstream_set);
	assert_int_equal(addr_port((struct sockaddr *)&c.dcfg.upstream), 53);
	/* A gateway given by name is never faked. */
	assert_int_equal(c.nno_fake, 3);
	assert_string_equal(c.no_fake[0], "localhost");
	assert_string_equal(c.no_fake[1], "corp.example");
	assert_string_equal(c.no_fake[2], "cli.test");
	assert_null(c.no_fake[3]);
	assert_false(c.no_dns);
	assert_true(c.dcfg.check_exists);
	assert_true(c.fast_path);
	assert_int_equal(c.fcfg.prefix4, 16);
	assert_int_equal(c.fcfg.prefix6, 64);
	assert_int_equal(c.fcfg.ttl_s, 60);
	assert_null(c.fcfg.state_path);
	assert_int_equal(c.npolicy, 1);
	assert_int_equal(c.policy[0].len, 24);
	assert_int_equal(c.rcfg.target.nnat64, 2);
	assert_int_equal(c.rcfg.target.nat64[0].len, 96);
	assert_int_equal(c.rcfg.target.nat64[1].len, 64);
	assert_string_equal(c.rcfg.target.literal_suffix, "v6.example");
	assert_string_equal(c.dcfg.literal_suffix, "v6.example");
	assert_int_equal(c.mark, 0x10);
	assert_int_equal(c.rcfg.connect_ms, 500);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	agentconf_free(&c);
}

static void test_switches(void **state)
{
	char *args[] = {"--gateway", "127.0.0.1:1080", "--no-pin", "--no-dns", "--fast-path", NULL};
	char err[CONF_ERRLEN];
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c, "no-pin no\nfast-path no\n", args, &usage, err), 0);
	assert_null(c.pin_dir);
	assert_true(c.no_dns);
	assert_true(c.fast_path);
	agentconf_free(&c);
}

static void assert_build_error(const char *text, char **args, bool want_usage, const char *want)
{
	char err[CONF_ERRLEN], full[CONF_ERRLEN];
	struct agentconf c;
	bool usage;

	assert_true(build(&c, text, args, &usage, err) < 0);
	if (text && !want_usage && want[0] >= '0' && want[0] <= '9')
		snprintf(full, sizeof(full), "%s:%s", tmp_path, want);
	else
		snprintf(full, sizeof(full), "%s", want);
	print_message("got: %s\n", err);
	assert_string_equal(err, full);
	assert_int_equal(usage, want_usage);
	agentconf_free(&c);
}

static void test_errors(void **state)
{
	char *gw[] = {"--gateway", "127.0.0.1:1080", NULL};
	char *bad_prefix[] = {"--gateway", "127.0.0.1:1080", "--via-gateway", "1.2.3.4/40", NULL};
	char *bad_gw[] = {"--gateway", "no-port", NULL};
	char *user[] = {"--gateway", "127.0.0.1:1080", "--user", "u", NULL};

	assert_build_error(NULL, NULL, true, "--gateway HOST:PORT or --handoff PATH is required");
	assert_build_error(NULL, bad_prefix, true,
			   "--via-gateway: '1.2.3.4/40' is not an address or CIDR prefix");
	assert_build_error(NULL, bad_gw, true, "--gateway: 'no-port' is not HOST:PORT");
	assert_build_error(NULL, user, true, "--user needs --password-file");
	/* With a file, what is missing is the file's to give. */
	assert_build_error("user u\n", gw, false, "--user needs --password-file");
	assert_build_error("gateway 127.0.0.1:1080\nfrobnicate yes\n", NULL, false,
			   "2: unknown key 'frobnicate'");
	assert_build_error("log-level debug\nlog-level info\n", gw, false,
			   "2: 'log-level' is already set on line 1 (it takes one value)");
	assert_build_error("fake-pool4 2001:2::/48\n", gw, false,
			   "1: fake-pool4: '2001:2::/48' is not an IPv4 CIDR prefix with host "
			   "bits clear and room for two addresses");
	assert_build_error("proxy-port 70000\n", gw, false,
			   "1: proxy-port: '70000' is not a number in 0..65535");
	assert_build_error("no-dns perhaps\n", gw, false, "1: no-dns: 'perhaps' is not yes or no");
	assert_build_error("connect-timeout 0\n", gw, false,
			   "1: connect-timeout: '0' is not a number in 1..600000");
	assert_build_error("fake-ttl 0\n", gw, false,
			   "1: fake-ttl: '0' is not a number in 1..604800");
	assert_build_error("config /etc/other.conf\n", gw, false, "1: unknown key 'config'");
	assert_build_error(
	    "nat64-prefix 64:ff9b::/95\n", gw, false,
	    "1: nat64-prefix: '64:ff9b::/95' is not an IPv6 prefix of length 32, 40, "
	    "48, 56, 64 or 96 with host bits and bits 64-71 clear");
	assert_build_error("literal-suffix bad_suffix\n", gw, false,
			   "1: literal-suffix: 'bad_suffix' is not a domain suffix");
	assert_build_error("literal-suffix .\n", gw, false,
			   "1: literal-suffix: '.' is not a domain suffix");
}

/* --handoff stands in for --gateway (which becomes the fallback) and goes with --fast-path. */
static void test_handoff(void **state)
{
	char *alone[] = {"--handoff", "/run/socks46/handoff.sock", "--fast-path", NULL};
	char *both[] = {"--gateway", "127.0.0.1:1080", "--handoff", "/tmp/h.sock", NULL};
	char err[CONF_ERRLEN], longpath[200];
	char *too_long[] = {"--handoff", longpath, NULL};
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c, NULL, alone, &usage, err), 0);
	assert_string_equal(c.handoff, "/run/socks46/handoff.sock");
	assert_int_equal(c.rcfg.ngateways, 0);
	assert_true(c.fast_path);
	agentconf_free(&c);
	assert_int_equal(build(&c, "handoff /run/gw.sock\n", NULL, &usage, err), 0);
	assert_string_equal(c.handoff, "/run/gw.sock");
	agentconf_free(&c);
	assert_int_equal(build(&c, NULL, both, &usage, err), 0);
	assert_int_equal(c.rcfg.ngateways, 1);
	assert_string_equal(c.handoff, "/tmp/h.sock");
	agentconf_free(&c);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(build(&c, NULL, too_long, &usage, err), -EINVAL);
	assert_non_null(strstr(err, "is longer than a Unix socket path can be"));
	agentconf_free(&c);
	assert_build_error("handoff\n", NULL, false, "1: missing value for 'handoff'");
	assert_build_error("handoff /run/gw.sock\ncheck-exists\n", NULL, false,
			   "--check-exists needs a --gateway to ask");
}

/* `none` turns the pseudo-names off, for the responder and the forwarding alike. */
static void test_literal_suffix_none(void **state)
{
	char *args[] = {"--gateway", "127.0.0.1:1080", "--literal-suffix", "none", NULL};
	char err[CONF_ERRLEN];
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c, NULL, args, &usage, err), 0);
	assert_null(c.rcfg.target.literal_suffix);
	assert_null(c.dcfg.literal_suffix);
	agentconf_free(&c);
}

/* Users by uid and by name, repeated ones once; the command line's none clears the file's. */
static void test_exempt_user(void **state)
{
	char *args[] = {"--gateway", "127.0.0.1:1080", "--exempt-user", "4046", NULL};
	char *none[] = {"--gateway", "127.0.0.1:1080", "--exempt-user", "none", NULL};
	char *gw[] = {"--gateway", "127.0.0.1:1080", NULL};
	char err[CONF_ERRLEN];
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c, "exempt-user root\nexempt-user 0\n", args, &usage, err), 0);
	assert_int_equal(c.nexempt, 2);
	assert_int_equal(c.exempt_uids[0], 0);
	assert_int_equal(c.exempt_uids[1], 4046);
	agentconf_free(&c);
	assert_int_equal(build(&c, "exempt-user 4046\n", none, &usage, err), 0);
	assert_int_equal(c.nexempt, 0);
	assert_true(c.exempt_set);
	agentconf_free(&c);
	assert_build_error("exempt-user no-such-user-s46\n", gw, false,
			   "1: exempt-user: no user 'no-such-user-s46'");
	assert_build_error("exempt-user 1\nexempt-user 2\nexempt-user 3\nexempt-user 4\n"
			   "exempt-user 5\nexempt-user 6\nexempt-user 7\nexempt-user 8\n"
			   "exempt-user 9\n",
			   gw, false, "9: exempt-user: more than 8 users");
}

/* --netns-policy: all, own, or namespace names and absolute paths; anything else is refused. */
static void test_netns_policy(void **state)
{
	char *gw[] = {"--gateway", "198.51.100.9:1080", NULL};
	char *list[] = {"--gateway", "198.51.100.9:1080", "--netns-policy", "ctr1,/proc/1/ns/net",
			NULL};
	char *bad[] = {"--gateway", "198.51.100.9:1080", "--netns-policy", "a/b", NULL};
	char err[CONF_ERRLEN], many[65 * 2 + 16] = "netns-policy ";
	struct agentconf c;
	bool usage;

	assert_int_equal(build(&c, NULL, gw, &usage, err), 0);
	assert_null(c.netns_policy);
	agentconf_free(&c);
	assert_int_equal(build(&c, "netns-policy own\n", gw, &usage, err), 0);
	assert_string_equal(c.netns_policy, "own");
	agentconf_free(&c);
	assert_int_equal(build(&c, NULL, list, &usage, err), 0);
	assert_string_equal(c.netns_policy, "ctr1,/proc/1/ns/net");
	agentconf_free(&c);
	assert_int_not_equal(build(&c, NULL, bad, &usage, err), 0);
	assert_true(usage);
	assert_non_null(strstr(err, "netns-policy: 'a/b' is not all, own or a list"));
	agentconf_free(&c);
	assert_build_error("netns-policy a/b,c\n", gw, false,
			   "1: netns-policy: 'a/b,c' is not all, own or a list of at most 64 "
			   "namespace names (/run/netns/NAME) or absolute paths");
	assert_build_error("netns-policy ,\n", gw, false, "1: netns-policy: empty list");
	for (int i = 0; i < 65; i++)
		strcat(many, i ? ",n" : "n");
	assert_true(build(&c, many, gw, &usage, err) < 0);
	assert_non_null(strstr(err, "' is not all, own or a list of at most 64 namespace names"));
	agentconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_file_every_key),
	    cmocka_unit_test(test_switches),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_literal_suffix_none),
	    cmocka_unit_test(test_handoff),
	    cmocka_unit_test(test_exempt_user),
	    cmocka_unit_test(test_netns_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
