/* test_auth.c — the users file and the crypt(3) check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

static char path[64];

static void write_users(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/s46_users_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A hash made the way an operator would (mkpasswd), with the given prefix. */
static char *make_hash(const char *prefix, const char *pass)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd = {0};

	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)));
	return strdup(crypt_r(pass, setting, &cd));
}

static void test_check(void **state)
{
	char *h1 = make_hash("$6$", "right horse"), *h2 = make_hash(NULL, "b-pass");
	char text[1024], err[512];
	struct auth_db *db = NULL;

	snprintf(text, sizeof(text), "# users\nalice:%s\n\nbob:%s:19000:0:99999:7:::\n", h1, h2);
	write_users(text);
	assert_int_equal(auth_db_load(path, &db, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(auth_db_count(db), 2);
	assert_true(auth_check(db, "alice", "right horse"));
	assert_false(auth_check(db, "alice", "right horsE"));
	assert_false(auth_check(db, "alice", ""));
	assert_false(auth_check(db, "alice", "right horse "));
	assert_true(auth_check(db, "bob", "b-pass"));
	assert_false(auth_check(db, "bob", "right horse"));
	assert_false(auth_check(db, "carol", "right horse"));
	assert_false(auth_check(db, "", ""));
	assert_false(auth_check(NULL, "alice", "right horse"));
	auth_db_free(db);
	free(h1);
	free(h2);
}

static void assert_load_error(const char *text, const char *want_suffix)
{
	char err[512], want[512];
	struct auth_db *db = NULL;

	write_users(text);
	assert_int_equal(auth_db_load(path, &db, err, sizeof(err)), -EINVAL);
	assert_null(db);
	snprintf(want, sizeof(want), "%s:%s", path, want_suffix);
	assert_string_equal(err, want);
	unlink(path);
}

static void test_load_errors(void **state)
{
	char *h = make_hash("$6$", "x"), text[1024];

	assert_load_error("alice\n", "1: expected name:hash");
	assert_load_error("# c\n:$6$abc$def\n", "2: expected name:hash");
	assert_load_error("alice:not-a-hash\n",
			  "1: user 'alice': not a crypt(3) hash this system supports");
	assert_load_error("alice:\n", "1: user 'alice': not a crypt(3) hash this system supports");
	snprintf(text, sizeof(text), "alice:%s\nalice:%s\n", h, h);
	assert_load_error(text, "2: duplicate user 'alice'");
	free(h);
}

static void test_missing_file(void **state)
{
	struct auth_db *db = NULL;
	char err[512];

	assert_int_equal(auth_db_load("/nonexistent/users", &db, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/users: cannot open: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
