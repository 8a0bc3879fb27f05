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

static void write_users_n(const char *text, size_t len)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/s46_users_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void write_users(const char *text)
{
	write_users_n(text, strlen(text));
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

static void assert_load_error_n(const char *text, size_t len, const char *want_suffix)
{
	char err[512], want[512];
	struct auth_db *db = NULL;

	write_users_n(text, len);
	assert_int_equal(auth_db_load(path, &db, err, sizeof(err)), -EINVAL);
	assert_null(db);
	snprintf(want, sizeof(want), "%s:%s", path, want_suffix);
	assert_string_equal(err, want);
	unlink(path);
}

static void assert_load_error(const char *text, const char *want_suffix)
{
	assert_load_error_n(text, strlen(text), want_suffix);
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

/* A comment longer than any fixed buffer stays one comment: nothing after it becomes a user. */
static void test_long_comment(void **state)
{
	char *h = make_hash("$6$", "eve-pass"), *ha = make_hash("$6$", "a"), *text, err[512];
	struct auth_db *db = NULL;
	size_t pads[] = {1023, 1022, 1024, 4095, 100000};

	for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		size_t len = pads[i] + strlen(h) + strlen(ha) + 64;
		int n;

		text = malloc(len);
		assert_non_null(text);
		n = snprintf(text, len, "# disabled: ");
		memset(text + n, 'x', pads[i] - (size_t)n);
		snprintf(text + pads[i], len - pads[i], "eve:%s\nalice:%s\n", h, ha);
		write_users(text);
		free(text);
		assert_int_equal(auth_db_load(path, &db, err, sizeof(err)), 0);
		unlink(path);
		assert_int_equal(auth_db_count(db), 1);
		assert_false(auth_check(db, "eve", "eve-pass"));
		assert_true(auth_check(db, "alice", "a"));
		auth_db_free(db);
		db = NULL;
	}
	free(h);
	free(ha);
}

/* An error after a long line names the right line. */
static void test_long_line_lineno(void **state)
{
	char text[8192];

	memset(text, '#', 5000);
	snprintf(text + 5000, sizeof(text) - 5000, "\nalice\n");
	assert_load_error(text, "2: expected name:hash");
	assert_load_error_n("# a\nalice:\0x\n", 12, "2: NUL byte in the line");
}

/* descrypt and bigcrypt check 8 bytes: "passwordEXTRA" would pass for "password". Refused. */
static void test_des_refused(void **state)
{
	struct crypt_data cd = {0};
	char text[256];
	const char *des = crypt_r("password", "ab", &cd);

	assert_int_equal(strlen(des), 13);
	snprintf(text, sizeof(text), "# users\nalice:%s\n", des);
	assert_load_error(text,
			  "2: user 'alice': a DES crypt hash checks only the first 8 bytes of "
			  "a password; make a new one (mkpasswd -m yescrypt)");
	/* bigcrypt: DES in 11-character pieces after the first 13. */
	snprintf(text, sizeof(text), "alice:%s%s\n", des, "abcdefghijk");
	assert_load_error(text,
			  "1: user 'alice': a DES crypt hash checks only the first 8 bytes of "
			  "a password; make a new one (mkpasswd -m yescrypt)");
}

/* Runs auth_db_load with stderr in a file; returns what was written there. */
static char *load_capturing_stderr(const char *text, int *ret)
{
	char cap[] = "/tmp/s46_stderr_XXXXXX", err[512], *out = calloc(1, 8192);
	int fd = mkstemp(cap), saved = dup(2);
	struct auth_db *db = NULL;

	assert_true(fd >= 0 && saved >= 0 && out);
	write_users(text);
	dup2(fd, 2);
	*ret = auth_db_load(path, &db, err, sizeof(err));
	dup2(saved, 2);
	close(saved);
	assert_true(pread(fd, out, 8191, 0) >= 0);
	close(fd);
	unlink(cap);
	auth_db_free(db);
	return out;
}

/* Weak methods load, with one warning line per user naming FILE:LINE. */
static void test_weak_warned(void **state)
{
	char *md5 = make_hash("$1$", "a"), *nt = make_hash("$3$", "b"), *y = make_hash(NULL, "c");
	struct crypt_data cd = {0};
	char *sha = strdup(crypt_r("d", "$6$rounds=1000$abcdefgh$", &cd)), text[2048], want[512],
	     *out;
	int ret;

	snprintf(text, sizeof(text), "mo:%s\nnt:%s\n# ok\nyes:%s\nlow:%s\n", md5, nt, y, sha);
	out = load_capturing_stderr(text, &ret);
	assert_int_equal(ret, 0);
	snprintf(want, sizeof(want), "%s:1: user 'mo': weak password hash: md5crypt", path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:2: user 'nt': weak password hash: the NT hash", path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:5: user 'low': weak password hash: fewer than 5000", path);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "'yes'"));
	unlink(path);
	free(out);
	free(md5);
	free(nt);
	free(y);
	free(sha);
}

/*
 * A file mixing methods: an unknown name is checked against one of the file's own hashes (so
 * it costs what that user's login costs), always the same one for a name, and unknown names
 * spread over the users evenly, whatever method the first user has.
 */
static void test_dummy_mixed(void **state)
{
	char *h[4] = {make_hash("$6$", "a"), make_hash("$5$", "b"), make_hash("$2b$", "c"),
		      make_hash("$6$", "d")};
	const char *pass[4] = {"a", "b", "c", "d"};
	unsigned hits[4] = {0}, n = 4000;
	char text[2048], name[32], err[512];
	struct auth_db *db = NULL;

	snprintf(text, sizeof(text), "a:%s\nb:%s\nc:%s\nd:%s\n", h[0], h[1], h[2], h[3]);
	write_users(text);
	assert_int_equal(auth_db_load(path, &db, err, sizeof(err)), 0);
	unlink(path);
	for (unsigned i = 0; i < n; i++) {
		const char *d;
		unsigned k;

		snprintf(name, sizeof(name), "nobody%u", i);
		d = auth_dummy_hash(db, name);
		for (k = 0; k < 4 && strcmp(d, h[k]); k++)
			;
		assert_true(k < 4);
		hits[k]++;
		assert_ptr_equal(auth_dummy_hash(db, name), d);
		/* Even the password of the user whose hash it borrows fails (a few: it is slow). */
		if (i < 40)
			assert_false(auth_check(db, name, pass[k]));
	}
	/* Each user's share of unknown names is near a quarter (the binomial sd is 27). */
	for (unsigned k = 0; k < 4; k++)
		assert_in_range(hits[k], n / 4 - 200, n / 4 + 200);
	auth_db_free(db);
	for (unsigned k = 0; k < 4; k++)
		free(h[k]);
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
	    cmocka_unit_test(test_long_comment),
	    cmocka_unit_test(test_long_line_lineno),
	    cmocka_unit_test(test_des_refused),
	    cmocka_unit_test(test_weak_warned),
	    cmocka_unit_test(test_dummy_mixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
