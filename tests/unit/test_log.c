/* test_log.c — client text made safe for a log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "log.h"

static void test_escape(void **state)
{
	char buf[64], tiny[8];

	assert_string_equal(log_escape("web6.test", buf, sizeof(buf)), "web6.test");
	assert_string_equal(log_escape(NULL, buf, sizeof(buf)), "-");
	/* Spaces, controls, '\\' and bytes above 0x7e could forge or split a line. */
	assert_string_equal(log_escape("a b\n\\\x7f\xff", buf, sizeof(buf)),
			    "a\\x20b\\x0a\\x5c\\x7f\\xff");
	/* Truncated whole: never half an escape, always terminated. */
	assert_string_equal(log_escape("abcdefgh", tiny, sizeof(tiny)), "abc");
	assert_string_equal(log_escape("a\nb", tiny, sizeof(tiny)), "a\\x0a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
