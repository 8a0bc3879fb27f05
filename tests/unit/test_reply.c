/* test_reply.c — the one reply-code table: errno to SOCKS5 REP and the texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "socks5.h"

static void test_table(void **state)
{
	static const struct {
		int err;
		uint8_t rep;
	} rows[] = {
	    {0, 0x00},		{EACCES, 0x02},	       {EPERM, 0x02},	     {ENETUNREACH, 0x03},
	    {ENETDOWN, 0x03},	{EHOSTUNREACH, 0x04},  {EHOSTDOWN, 0x04},    {ENOENT, 0x04},
	    {ENODATA, 0x04},	{EADDRNOTAVAIL, 0x04}, {ECONNREFUSED, 0x05}, {ETIMEDOUT, 0x06},
	    {EOPNOTSUPP, 0x07}, {EAFNOSUPPORT, 0x08},  {ENOMEM, 0x01},	     {EIO, 0x01},
	    {ECONNRESET, 0x01},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(socks5_rep_from_errno(rows[i].err), rows[i].rep);
		assert_int_equal(socks5_rep_from_errno(-rows[i].err), rows[i].rep);
	}
}

static void test_texts(void **state)
{
	assert_string_equal(socks5_rep_str(0x00), "succeeded");
	assert_string_equal(socks5_rep_str(0x04), "host unreachable");
	assert_string_equal(socks5_rep_str(0x05), "connection refused");
	assert_string_equal(socks5_rep_str(0x08), "address type not supported");
	assert_string_equal(socks5_rep_str(0x09), "unknown");
	assert_string_equal(socks5_rep_str(0xff), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
