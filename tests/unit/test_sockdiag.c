/* test_sockdiag.c — finds our own loopback TCP connection through sock_diag, with its inode and our
 * pid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "sockdiag.h"

struct want {
	struct sockaddr_storage src, dst;
	uint32_t inode;
	unsigned matches, seen;
};

static int find_cb(const struct sockdiag_sock *s, void *arg)
{
	struct want *w = arg;

	w->seen++;
	if (addr_equal((const struct sockaddr *)&s->src, (const struct sockaddr *)&w->src) &&
	    addr_equal((const struct sockaddr *)&s->dst, (const struct sockaddr *)&w->dst)) {
		w->matches++;
		w->inode = s->inode;
		assert_int_equal(s->state, TCP_ESTABLISHED);
		assert_int_equal(s->uid, getuid());
		assert_true(s->cookie != 0);
	}
	return 0;
}

static int stop_cb(const struct sockdiag_sock *s, void *arg)
{
	(*(int *)arg)++;
	return 7;
}

static void connect_pair(int af, int *lfd, int *cfd, int *afd, struct want *w)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);

	assert_int_equal(addr_parse_ip(af == AF_INET ? "127.0.0.1" : "::1", &ss, &len), 0);
	*lfd = socket(af, SOCK_STREAM, 0);
	assert_int_equal(bind(*lfd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(*lfd, 1), 0);
	len = sizeof(ss);
	getsockname(*lfd, (struct sockaddr *)&ss, &len);
	*cfd = socket(af, SOCK_STREAM, 0);
	assert_int_equal(connect(*cfd, (struct sockaddr *)&ss, len), 0);
	*afd = accept(*lfd, NULL, NULL);
	assert_true(*afd >= 0);
	memset(w, 0, sizeof(*w));
	len = sizeof(w->src);
	getsockname(*cfd, (struct sockaddr *)&w->src, &len);
	len = sizeof(w->dst);
	getpeername(*cfd, (struct sockaddr *)&w->dst, &len);
}

static void check_family(int af)
{
	struct sockdiag_owner owners[2];
	struct want w;
	struct stat st;
	int lfd, cfd, afd;

	connect_pair(af, &lfd, &cfd, &afd, &w);
	assert_int_equal(sockdiag_dump_tcp(af, SOCKDIAG_ALL_STATES, find_cb, &w), 0);
	assert_int_equal(w.matches, 1);
	assert_int_equal(fstat(cfd, &st), 0);
	assert_int_equal(w.inode, (uint32_t)st.st_ino);
	/* Both ends are ours; an inode nobody holds stays unowned. */
	owners[0].inode = w.inode;
	owners[1].inode = 0xfffffff0u;
	assert_int_equal(sockdiag_find_owners(owners, 2), 1);
	assert_int_equal(owners[0].inode, w.inode);
	assert_int_equal(owners[0].pid, getpid());
	assert_string_equal(owners[0].comm, "s46-sockdiag");
	assert_int_equal(owners[1].pid, 0);
	/* Only listening sockets: our connection is not among them. */
	memset(&w.inode, 0, sizeof(w.inode));
	w.matches = 0;
	assert_int_equal(sockdiag_dump_tcp(af, 1u << TCP_LISTEN, find_cb, &w), 0);
	assert_int_equal(w.matches, 0);
	assert_true(w.seen > 0);
	close(afd);
	close(cfd);
	close(lfd);
}

static void test_ipv4(void **state)
{
	check_family(AF_INET);
}

static void test_ipv6(void **state)
{
	check_family(AF_INET6);
}

static void test_stop_and_errors(void **state)
{
	struct want w;
	int lfd, cfd, afd, calls = 0;

	connect_pair(AF_INET, &lfd, &cfd, &afd, &w);
	assert_int_equal(sockdiag_dump_tcp(AF_INET, SOCKDIAG_ALL_STATES, stop_cb, &calls), 7);
	assert_int_equal(calls, 1);
	assert_int_equal(sockdiag_dump_tcp(AF_UNIX, SOCKDIAG_ALL_STATES, stop_cb, &calls),
			 -EAFNOSUPPORT);
	assert_int_equal(sockdiag_find_owners(NULL, 0), 0);
	close(afd);
	close(cfd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_stop_and_errors),
	};

	/* A known comm to look for, whatever the binary is called. */
	prctl(PR_SET_NAME, "s46-sockdiag");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
