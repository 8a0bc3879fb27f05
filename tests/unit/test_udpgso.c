/* test_udpgso.c — UDP trains: which batches make one, and a train sent and received whole or cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udpgso.h"

static uint8_t data[70000];

static void iovs(struct iovec *iov, const size_t *len, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		iov[i] = (struct iovec){.iov_base = data, .iov_len = len[i]};
}

static void test_fits(void **state)
{
	struct iovec iov[UDPGSO_MAX_SEGS + 1];
	size_t same[UDPGSO_MAX_SEGS + 1];

	(void)state;
	for (unsigned i = 0; i <= UDPGSO_MAX_SEGS; i++)
		same[i] = 1000;
	iovs(iov, same, 1);
	assert_false(udpgso_fits(iov, 1)); /* one datagram is no train */
	iovs(iov, same, UDPGSO_MAX_SEGS);
	assert_true(udpgso_fits(iov, UDPGSO_MAX_SEGS));
	iovs(iov, same, UDPGSO_MAX_SEGS + 1);
	assert_false(udpgso_fits(iov, UDPGSO_MAX_SEGS + 1));
	iovs(iov, (size_t[]){1200, 1200, 700}, 3);
	assert_true(udpgso_fits(iov, 3)); /* the last may be shorter */
	iovs(iov, (size_t[]){1200, 700, 1200}, 3);
	assert_false(udpgso_fits(iov, 3)); /* only the last */
	iovs(iov, (size_t[]){1200, 1300}, 2);
	assert_false(udpgso_fits(iov, 2)); /* never longer */
	iovs(iov, (size_t[]){1200, 0}, 2);
	assert_false(udpgso_fits(iov, 2));
	iovs(iov, (size_t[]){33000, 33000}, 2);
	assert_false(udpgso_fits(iov, 2)); /* 65,507 bytes at most */
}

/* A train of 5 datagrams (the last shorter) to a socket that takes it whole (UDP_GRO), then to
 * one that gets it cut into datagrams: the same bytes either way. */
static void test_send_receive(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct iovec iov[5];
	size_t len[5] = {1000, 1000, 1000, 1000, 300};
	uint8_t buf[8192];
	union {
		struct cmsghdr align;
		char c[64];
	} cb;
	struct iovec riov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr m = {.msg_iov = &riov, .msg_iovlen = 1};
	int s = socket(AF_INET, SOCK_DGRAM, 0), r = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_true(s >= 0 && r >= 0);
	assert_int_equal(bind(r, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(r, (struct sockaddr *)&a, &alen), 0);
	for (unsigned i = 0; i < 5; i++)
		iov[i] = (struct iovec){.iov_base = data + i * 1000, .iov_len = len[i]};

	udpgso_want_gro(r);
	assert_int_equal(udpgso_send(s, iov, 5, (struct sockaddr *)&a, sizeof(a), NULL, 0), 0);
	m.msg_control = cb.c;
	m.msg_controllen = sizeof(cb.c);
	n = recvmsg(r, &m, 0);
	assert_int_equal(n, 4300);
	assert_int_equal(udpgso_segment(&m), 1000);
	assert_memory_equal(buf, data, 4300);

	close(r);
	r = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(r, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(udpgso_send(s, iov, 5, (struct sockaddr *)&a, sizeof(a), NULL, 0), 0);
	for (unsigned i = 0; i < 5; i++) {
		m.msg_control = cb.c;
		m.msg_controllen = sizeof(cb.c);
		n = recvmsg(r, &m, 0);
		assert_int_equal(n, (ssize_t)len[i]);
		assert_int_equal(udpgso_segment(&m), 0);
		assert_memory_equal(buf, data + i * 1000, len[i]);
	}
	close(r);
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fits),
	    cmocka_unit_test(test_send_receive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
