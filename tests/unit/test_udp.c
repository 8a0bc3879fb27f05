/* test_udp.c — one UDP association in-process on loopback: relaying, drops, rules, idle end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "gateway/gateway.h"
#include "gateway/rules.h"
#include "gateway/udp.h"
#include "socks5.h"

struct echo {
	int fd;
	unsigned hits;
	uint16_t port;
};

struct fix {
	struct gateway gw;
	struct worker w;
	struct echo e4, e6;
	bool have6;
	struct udp_assoc *a;
	struct sockaddr_storage bnd;
	int client; /* the test's client socket (127.0.0.1) */
	int ctl[2]; /* the control connection: [0] the gateway's end, [1] the client's */
};

static void echo_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct echo *e = arg;
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	uint8_t buf[2048];
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

	if (n < 0)
		return;
	e->hits++;
	sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
}

static int bound_udp(const char *ip, struct sockaddr_storage *ss)
{
	socklen_t len;
	int fd;

	assert_int_equal(addr_parse_ip(ip, ss, &len), 0);
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)ss, len) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof(*ss);
	getsockname(fd, (struct sockaddr *)ss, &len);
	return fd;
}

static void echo_open(struct fix *f, struct echo *e, const char *ip)
{
	struct sockaddr_storage ss;

	e->fd = bound_udp(ip, &ss);
	if (e->fd < 0)
		return;
	e->port = addr_port((struct sockaddr *)&ss);
	assert_int_equal(ev_io_add(f->w.loop, e->fd, EV_READ, echo_cb, e), 0);
}

/* An association whose control connection reached 127.0.0.1:1080 from 127.0.0.1, port
 * unknown (all-zero request). */
static void assoc_open(struct fix *f)
{
	struct sockaddr_storage ctl, local;
	struct socks5_addr want = {.atyp = SOCKS5_ATYP_IPV4};

	addr_parse("127.0.0.1:1080", 0, &ctl, NULL);
	addr_parse_ip("127.0.0.1", &local, NULL);
	assert_int_equal(udp_assoc_new(&f->a, &f->w, f->ctl[0], (struct sockaddr *)&ctl,
				       (struct sockaddr *)&local, &want, NULL, &f->bnd),
			 0);
	assert_non_null(f->a);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct resolv_opts ro = {.dns_server = "127.0.0.1:9", .timeout_ms = 200, .tries = 1};
	struct sockaddr_storage cl;

	assert_non_null(f);
	f->w.gw = &f->gw;
	assert_int_equal(ev_loop_new(&f->w.loop), 0);
	assert_int_equal(gw_snap_new(&f->w.snap), 0);
	f->w.happy.prefer = AF_INET;
	assert_int_equal(resolv_new(&f->w.res, f->w.loop, &ro), 0);
	assert_non_null(f->w.res);
	assert_int_equal(rules_new(&f->w.snap->conf.rules), 0);
	echo_open(f, &f->e4, "127.0.0.1");
	assert_true(f->e4.fd >= 0);
	echo_open(f, &f->e6, "::1");
	f->have6 = f->e6.fd >= 0;
	f->client = bound_udp("127.0.0.1", &cl);
	assert_true(f->client >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->ctl), 0);
	assoc_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	udp_assoc_free(f->a);
	if (f->e6.fd >= 0)
		close(f->e6.fd);
	close(f->e4.fd);
	close(f->client);
	close(f->ctl[0]);
	close(f->ctl[1]);
	resolv_free(f->w.res);
	ev_loop_free(f->w.loop);
	gw_snap_put(f->w.snap);
	free(f);
	return 0;
}

static void stop_cb(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

static void spin(struct fix *f, unsigned ms)
{
	struct ev_timer t;

	ev_timer_init(&t, stop_cb);
	ev_timer_start(f->w.loop, &t, ms);
	ev_run(f->w.loop);
}

/* Sends payload to dst through the association from fd (frag = FRAG byte). */
static void send_via(struct fix *f, int fd, uint8_t frag, const struct socks5_addr *dst,
		     const char *payload)
{
	uint8_t buf[600];
	int n = socks5_build_udp_header(buf, frag, dst);

	assert_true(n > 0);
	memcpy(buf + n, payload, strlen(payload));
	assert_int_equal(sendto(fd, buf, (size_t)n + strlen(payload), 0, (struct sockaddr *)&f->bnd,
				addr_sa_len((struct sockaddr *)&f->bnd)),
			 (ssize_t)(n + strlen(payload)));
}

/* The next wrapped reply on fd: its source and payload; false if none came. */
static bool recv_reply(int fd, struct socks5_udp_header *h, char *payload, size_t len)
{
	uint8_t buf[2048];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	int hl;

	if (n < 0)
		return false;
	hl = socks5_parse_udp_header(buf, (size_t)n, h);
	assert_true(hl > 0);
	assert_true((size_t)(n - hl) < len);
	memcpy(payload, buf + hl, (size_t)(n - hl));
	payload[n - hl] = '\0';
	return true;
}

static struct socks5_addr dst_ip(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct socks5_addr a;

	addr_parse_ip(ip, &ss, NULL);
	addr_set_port((struct sockaddr *)&ss, port);
	assert_int_equal(socks5_addr_from_sockaddr(&a, (struct sockaddr *)&ss), 0);
	return a;
}

static void test_bound_where_control_arrived(void **state)
{
	struct fix *f = *state;
	char ip[ADDR_STRLEN];

	assert_string_equal(addr_format_ip((struct sockaddr *)&f->bnd, ip, sizeof(ip)),
			    "127.0.0.1");
	assert_true(addr_port((struct sockaddr *)&f->bnd) != 0);
}

static void test_echo_v4_and_across(void **state)
{
	struct fix *f = *state;
	struct socks5_udp_header h;
	struct socks5_addr d = dst_ip("127.0.0.1", f->e4.port);
	char got[1024];

	send_via(f, f->client, 0, &d, "hello4");
	spin(f, 100);
	assert_true(recv_reply(f->client, &h, got, sizeof(got)));
	assert_string_equal(got, "hello4");
	assert_int_equal(h.frag, 0);
	assert_int_equal(h.dst.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(h.dst.port, f->e4.port);
	assert_int_equal(h.dst.v4.s_addr, htonl(INADDR_LOOPBACK));
	if (!f->have6)
		return;
	/* An IPv4 client's datagram to an IPv6 destination, and the reply back. */
	d = dst_ip("::1", f->e6.port);
	send_via(f, f->client, 0, &d, "hello6");
	spin(f, 100);
	assert_true(recv_reply(f->client, &h, got, sizeof(got)));
	assert_string_equal(got, "hello6");
	assert_int_equal(h.dst.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(h.dst.port, f->e6.port);
	assert_true(IN6_IS_ADDR_LOOPBACK(&h.dst.v6));
}

static void test_name_resolved(void **state)
{
	struct fix *f = *state;
	struct socks5_udp_header h;
	struct socks5_addr d;
	char got[1024];

	assert_int_equal(socks5_addr_set_name(&d, "localhost", f->e4.port), 0);
	send_via(f, f->client, 0, &d, "by-name");
	spin(f, 200);
	assert_true(recv_reply(f->client, &h, got, sizeof(got)));
	assert_string_equal(got, "by-name");
	/* --prefer ipv4 in this worker: the IPv4 loopback answered. */
	assert_int_equal(h.dst.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(f->e4.hits, 1);
}

static void test_drops(void **state)
{
	struct fix *f = *state;
	struct socks5_udp_header h;
	struct socks5_addr d = dst_ip("127.0.0.1", f->e4.port), zero = dst_ip("127.0.0.1", 0);
	struct sockaddr_storage ss;
	char got[1024];
	int other = bound_udp("127.0.0.1", &ss);
	uint8_t junk[] = {0, 1, 0, 1, 127, 0, 0, 1, 0, 7};

	send_via(f, f->client, 0, &d, "first");
	spin(f, 100);
	assert_true(recv_reply(f->client, &h, got, sizeof(got)));
	assert_int_equal(f->e4.hits, 1);
	send_via(f, f->client, 1, &d, "fragment");
	send_via(f, other, 0, &d, "other port");
	send_via(f, f->client, 0, &zero, "port zero");
	sendto(f->client, junk, sizeof(junk), 0, (struct sockaddr *)&f->bnd,
	       addr_sa_len((struct sockaddr *)&f->bnd));
	spin(f, 100);
	assert_int_equal(f->e4.hits, 1);
	assert_false(recv_reply(f->client, &h, got, sizeof(got)));
	assert_false(recv_reply(other, &h, got, sizeof(got)));
	/* Still serving. */
	send_via(f, f->client, 0, &d, "again");
	spin(f, 100);
	assert_true(recv_reply(f->client, &h, got, sizeof(got)));
	assert_string_equal(got, "again");
	close(other);
}

static void test_rules_per_datagram(void **state)
{
	struct fix *f = *state;
	struct socks5_udp_header h;
	struct socks5_addr d = dst_ip("127.0.0.1", f->e4.port), n;
	char got[1024], err[128];

	assert_int_equal(rules_add(f->w.snap->conf.rules, "deny cmd udp to 127.0.0.0/8", NULL, 0,
				   err, sizeof(err)),
			 0);
	assert_int_equal(rules_add(f->w.snap->conf.rules, "deny to ::1", NULL, 0, err, sizeof(err)),
			 0);
	send_via(f, f->client, 0, &d, "denied");
	/* A name is denied after resolution, by the address it resolved to. */
	assert_int_equal(socks5_addr_set_name(&n, "localhost", f->e4.port), 0);
	send_via(f, f->client, 0, &n, "denied-name");
	spin(f, 200);
	assert_int_equal(f->e4.hits, 0);
	assert_int_equal(f->e6.hits, 0);
	assert_false(recv_reply(f->client, &h, got, sizeof(got)));
}

/* Whether the gateway shut the control connection down. */
static bool ctl_closed(struct fix *f)
{
	char c;

	return recv(f->ctl[1], &c, 1, MSG_DONTWAIT) == 0;
}

/* No datagram either way for udp-idle-timeout: the control connection is shut down (the
 * session then frees the association); each datagram pushes that back. */
static void test_idle_timeout(void **state)
{
	struct fix *f = *state;
	struct socks5_addr d = dst_ip("127.0.0.1", f->e4.port);
	struct socks5_udp_header h;
	char got[64];

	udp_assoc_free(f->a);
	f->w.snap->conf.udp_idle_timeout_s = 1;
	assoc_open(f);
	spin(f, 600);
	send_via(f, f->client, 0, &d, "keep");
	spin(f, 600);
	assert_true(recv_reply(f->client, &h, got, sizeof(got)));
	assert_false(ctl_closed(f)); /* 1.2 s in, 0.6 s after the last datagram */
	spin(f, 700);
	assert_true(ctl_closed(f));
}

/* Unset, udp-idle-timeout is the relays' idle timeout; 0 is never. */
static void test_idle_default_and_never(void **state)
{
	struct fix *f = *state;

	udp_assoc_free(f->a);
	f->w.snap->conf.idle_timeout_s = 1;
	f->w.snap->conf.udp_idle_timeout_s = 0;
	assoc_open(f);
	spin(f, 1300);
	assert_false(ctl_closed(f));
	udp_assoc_free(f->a);
	f->w.snap->conf.udp_idle_timeout_s = GWCONF_UDP_IDLE_DEFAULT;
	assoc_open(f);
	spin(f, 1300);
	assert_true(ctl_closed(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bound_where_control_arrived, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_echo_v4_and_across, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_name_resolved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rules_per_datagram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_default_and_never, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
