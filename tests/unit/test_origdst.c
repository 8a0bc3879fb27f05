/* test_origdst.c — s46_conn keys match what sock_ops publishes; destinations convert back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "agent/origdst.h"

static void test_key_v4_is_mapped(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
	static const uint8_t want[16] = {[10] = 0xff, [11] = 0xff, 127, 0, 0, 1};
	struct s46_conn_key k;

	memset(&k, 0xaa, sizeof(k));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(origdst_key(&k, 4096, (struct sockaddr *)&sin), 0);
	assert_int_equal(k.netns_cookie, 4096);
	assert_memory_equal(k.addr, want, 16);
	assert_int_equal(k.port, htons(40000));
	/* Padding is zero: the key is hashed byte by byte in the kernel. */
	assert_int_equal(k.pad1, 0);
	assert_int_equal(k.pad2, 0);
}

static void test_key_v6(void **state)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(5)};
	struct s46_conn_key k;

	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(origdst_key(&k, 1, (struct sockaddr *)&sin6), 0);
	assert_memory_equal(k.addr, &in6addr_loopback, 16);
	assert_int_equal(k.port, htons(5));
}

static void test_key_other_family(void **state)
{
	struct sockaddr sa = {.sa_family = AF_UNIX};
	struct s46_conn_key k;

	assert_int_equal(origdst_key(&k, 1, &sa), -EAFNOSUPPORT);
}

static void test_dst_to_sockaddr(void **state)
{
	struct s46_dst d = {.port = htons(80), .kind = S46_KIND_PROXY};
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[INET6_ADDRSTRLEN];

	d.addr[10] = d.addr[11] = 0xff;
	inet_pton(AF_INET, "198.18.0.7", d.addr + 12);
	origdst_sockaddr(&d, &ss, &len);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.0.7");
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(80));

	inet_pton(AF_INET6, "2001:2::9", d.addr);
	origdst_sockaddr(&d, &ss, &len);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
	assert_string_equal(buf, "2001:2::9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_v4_is_mapped),
	    cmocka_unit_test(test_key_v6),
	    cmocka_unit_test(test_key_other_family),
	    cmocka_unit_test(test_dst_to_sockaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
