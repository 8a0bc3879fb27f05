/* test_json.c — the status command's JSON tree: parsing, escapes, rejects, lookups, additions,
 * output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *write_str(const struct json *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	json_write(f, j);
	fclose(f);
	return buf;
}

static void test_parse_and_lookup(void **state)
{
	struct json *j;
	const struct json *arr;
	char *out;

	assert_int_equal(json_parse(" {\"pid\": 12, \"cookie\": 18446744073709551615,"
				    " \"up\": true, \"none\": null, \"s\": \"a\\\"b\\u00e9\\n\","
				    " \"list\": [1, {\"x\": -2.5e3}, []]} ",
				    &j),
			 0);
	assert_int_equal(json_get_uint(j, "pid"), 12);
	/* 64-bit cookies are kept exactly. */
	assert_true(json_get_uint(j, "cookie") == 18446744073709551615ull);
	assert_true(json_get_bool(j, "up"));
	assert_false(json_get_bool(j, "none"));
	assert_string_equal(json_get_str(j, "s", NULL), "a\"b\xc3\xa9\n");
	assert_string_equal(json_get_str(j, "missing", "def"), "def");
	assert_int_equal(json_get_uint(j, "s"), 0);
	arr = json_get(j, "list");
	assert_non_null(arr);
	assert_int_equal(arr->type, JSON_ARRAY);
	assert_int_equal(arr->child->next->type, JSON_OBJECT);
	assert_int_equal(json_get_uint(arr->child->next, "x"), 0); /* negative */
	assert_int_equal(json_add_str((struct json *)arr->child->next, "comm", "py\"3"), 0);
	assert_int_equal(json_add_uint(j, "inode", 4242), 0);
	out = write_str(j);
	assert_string_equal(out, "{\"pid\":12,\"cookie\":18446744073709551615,\"up\":true,"
				 "\"none\":null,\"s\":\"a\\\"b\xc3\xa9\\u000a\",\"list\":[1,"
				 "{\"x\":-2.5e3,\"comm\":\"py\\\"3\"},[]],\"inode\":4242}");
	free(out);
	json_free(j);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
	    "",	     "{",	 "}",		"[1,]",	       "{\"a\":}", "{\"a\" 1}",
	    "{a:1}", "[1 2]",	 "01x",		"-",	       "1.",	   "1e",
	    "\"abc", "\"\\x\"",	 "\"\\ud800\"", "\"\\u0000\"", "tru",	   "nul",
	    "{} {}", "\"a\nb\"", "[\"\\u12\"]",
	};
	struct json *j;
	char deep[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = (struct json *)1;
		assert_int_equal(json_parse(bad[i], &j), -EINVAL);
		assert_null(j);
	}
	/* Nesting deeper than 64 is refused, not a stack overflow. */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = '\0';
	assert_int_equal(json_parse(deep, &j), -EINVAL);
	memset(deep, '[', 10);
	memset(deep + 10, ']', 10);
	deep[20] = '\0';
	assert_int_equal(json_parse(deep, &j), 0);
	json_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_lookup),
	    cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
