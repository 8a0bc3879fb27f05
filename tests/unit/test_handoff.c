/* test_handoff.c — the handoff's messages on a real SOCK_SEQPACKET listener: request, descriptor,
 * a missing gateway and a restarted one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/handoff.h"
#include "ev.h"
#include "log.h"
#include "socks5.h"

#define MAX_PEERS 16

/* The gateway's side: its listener and the channels it accepted. */
struct gw {
	char dir[32], path[96];
	int lfd;
	int peers[MAX_PEERS];
	unsigned npeers;
};

struct t {
	struct ev_loop *loop;
	struct gw gw;
	struct handoff *h;
	uint64_t now; /* the re-dial limit's clock */
	int lfd;      /* the TCP listener the program's connections come from */
};

static uint64_t fake_clock(void *arg)
{
	return ((struct t *)arg)->now;
}

static void gw_listen(struct gw *g)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	g->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(g->lfd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", g->path);
	assert_int_equal(bind(g->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(g->lfd, 64), 0);
}

/* The gateway exits: listener, channels and socket file go. */
static void gw_stop(struct gw *g)
{
	close(g->lfd);
	g->lfd = -1;
	while (g->npeers)
		close(g->peers[--g->npeers]);
	unlink(g->path);
}

static void gw_accept_all(struct gw *g)
{
	int fd;

	while ((fd = accept4(g->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		assert_true(g->npeers < MAX_PEERS);
		g->peers[g->npeers++] = fd;
	}
	assert_int_equal(errno, EAGAIN);
}

/* The one message waiting on any channel: its payload in buf (length returned), its
 * descriptor in *fd. No second message may be waiting. */
static size_t gw_recv_one(struct gw *g, uint8_t *buf, size_t len, int *fd)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	ssize_t n = -1, more;
	unsigned got = 0;

	gw_accept_all(g);
	for (unsigned i = 0; i < g->npeers; i++) {
		msg.msg_control = u.b;
		msg.msg_controllen = sizeof(u.b);
		more = recvmsg(g->peers[i], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (more < 0) {
			assert_int_equal(errno, EAGAIN);
			continue;
		}
		got++;
		n = more;
		assert_false(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
		cm = CMSG_FIRSTHDR(&msg);
		assert_non_null(cm);
		assert_int_equal(cm->cmsg_level, SOL_SOCKET);
		assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
		assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(int)));
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
		assert_null(CMSG_NXTHDR(&msg, cm));
		/* Exactly one message per connection. */
		assert_true(recv(g->peers[i], buf, len, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	}
	assert_int_equal(got, 1);
	return (size_t)n;
}

/* A connected TCP socket as the agent accepts a program's connection; *peer the program's. */
static int tcp_conn(struct t *t, int *peer)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd;

	assert_int_equal(getsockname(t->lfd, (struct sockaddr *)&sin, &len), 0);
	*peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*peer >= 0);
	assert_int_equal(connect(*peer, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static bool same_socket(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int setup(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(ev_loop_new(&t->loop), 0);
	snprintf(t->gw.dir, sizeof(t->gw.dir), "/tmp/s46-handoff-XXXXXX");
	assert_non_null(mkdtemp(t->gw.dir));
	snprintf(t->gw.path, sizeof(t->gw.path), "%s/handoff.sock", t->gw.dir);
	t->gw.lfd = -1;
	t->now = 1000000;
	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(t->lfd >= 0);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(t->lfd, 16), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	handoff_free(t->h);
	if (t->gw.lfd >= 0)
		gw_stop(&t->gw);
	rmdir(t->gw.dir);
	close(t->lfd);
	ev_loop_free(t->loop);
	free(t);
	return 0;
}

static void new_handoff(struct t *t)
{
	assert_int_equal(handoff_new(&t->h, t->loop, t->gw.path), 0);
	handoff_set_clock(t->h, fake_clock, t);
}

/* Hands one connection to target off and checks what the gateway got. */
static void send_and_check(struct t *t, const struct socks5_addr *target)
{
	struct socks5_request req;
	uint8_t buf[SOCKS5_REQUEST_MAX + 16], rep = 0xff;
	int peer, cfd = tcp_conn(t, &peer), got = -1;
	size_t n;

	assert_int_equal(handoff_send(t->h, cfd, target), 0);
	n = gw_recv_one(&t->gw, buf, sizeof(buf), &got);
	assert_int_equal(socks5_parse_request(buf, n, &req, &rep), (int)n);
	assert_int_equal(req.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(req.dst.atyp, target->atyp);
	assert_int_equal(req.dst.port, target->port);
	if (target->atyp == SOCKS5_ATYP_DOMAINNAME)
		assert_string_equal(req.dst.name, target->name);
	else
		assert_memory_equal(&req.dst.v6, &target->v6, sizeof(target->v6));
	assert_true(same_socket(got, cfd));
	/* The agent's copy closes; the gateway's keeps the connection: bytes still pass. */
	close(cfd);
	assert_int_equal(send(peer, "x", 1, 0), 1);
	assert_int_equal(recv(got, buf, 1, 0), 1);
	assert_int_equal(buf[0], 'x');
	close(got);
	close(peer);
}

static void test_domain_and_ipv6(void **state)
{
	struct t *t = *state;
	struct socks5_addr name, v6 = {.atyp = SOCKS5_ATYP_IPV6, .port = 8443};
	struct handoff_stats st;

	gw_listen(&t->gw);
	new_handoff(t);
	handoff_get_stats(t->h, &st);
	assert_true(st.up);
	assert_int_equal(socks5_addr_set_name(&name, "www.example.com", 443), 0);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::17", &v6.v6), 1);
	send_and_check(t, &name);
	send_and_check(t, &v6);
	handoff_get_stats(t->h, &st);
	assert_int_equal(st.handed_off, 2);
	assert_int_equal(st.fallback, 0);
	assert_true(st.up);
	assert_string_equal(handoff_path(t->h), t->gw.path);
}

static void test_missing_path(void **state)
{
	struct t *t = *state;
	struct socks5_addr name;
	struct handoff_stats st;
	int peer, cfd = tcp_conn(t, &peer), err;

	new_handoff(t);
	assert_int_equal(socks5_addr_set_name(&name, "example.org", 80), 0);
	err = handoff_send(t->h, cfd, &name);
	assert_true(err < 0);
	assert_int_equal(err, -ENOENT);
	handoff_get_stats(t->h, &st);
	assert_int_equal(st.handed_off, 0);
	assert_int_equal(st.fallback, 1);
	assert_int_equal(st.channels, 0);
	assert_false(st.up);
	/* The caller still has the connection. */
	assert_int_equal(fcntl(cfd, F_GETFD), FD_CLOEXEC);
	close(cfd);
	close(peer);
}

/* The gateway restarts: sends fail, no re-dial within the limit, then it works again. */
static void test_gateway_restart(void **state)
{
	struct t *t = *state;
	struct socks5_addr name;
	struct handoff_stats st;
	int peer, cfd, err;

	assert_int_equal(socks5_addr_set_name(&name, "restart.example", 80), 0);
	gw_listen(&t->gw);
	new_handoff(t);
	for (int i = 0; i < 3; i++)
		send_and_check(t, &name);
	gw_stop(&t->gw);
	cfd = tcp_conn(t, &peer);
	err = handoff_send(t->h, cfd, &name);
	assert_true(err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN || err == -ENOENT);
	handoff_get_stats(t->h, &st);
	assert_int_equal(st.channels, 0);
	assert_false(st.up);
	/* Back at once, but the channels are dialled again only a second after the failure. */
	gw_listen(&t->gw);
	t->now += HANDOFF_REDIAL_MS - 1;
	assert_true(handoff_send(t->h, cfd, &name) < 0);
	gw_accept_all(&t->gw);
	assert_int_equal(t->gw.npeers, 0);
	t->now += 1;
	close(cfd);
	close(peer);
	send_and_check(t, &name);
	handoff_get_stats(t->h, &st);
	assert_true(st.up);
	assert_int_equal(st.handed_off, 4);
	assert_int_equal(st.fallback, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_domain_and_ipv6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gateway_restart, setup, teardown),
	};

	log_init(LOG_LVL_ERROR, "test_handoff");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
