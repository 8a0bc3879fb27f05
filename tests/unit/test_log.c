/* test_log.c — client text made safe for a log line; log lines on a plain stderr and on the
 * journal's stream (JOURNAL_STREAM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Points stderr at a fresh temporary file; returns the saved stderr. */
static int capture(char *path)
{
	int saved = dup(STDERR_FILENO), fd = mkstemp(path);

	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

static char *release(int saved, const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unlink(path);
	return buf;
}

static void set_journal_stream(int fd, long ino_delta)
{
	struct stat st;
	char v[64];

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
	setenv("JOURNAL_STREAM", v, 1);
}

static void test_journal_priorities(void **state)
{
	char path[] = "/tmp/s46logXXXXXX";
	int saved = capture(path);
	char *out;

	set_journal_stream(STDERR_FILENO, 0);
	log_init(LOG_LVL_INFO, "socks46-test");
	assert_true(log_stderr_is_journal());
	assert_string_equal(log_journal_prefix(LOG_LVL_ERROR), "<3>");
	assert_string_equal(log_journal_prefix(LOG_LVL_DEBUG), "<7>");
	log_error("bad %s", "thing");
	log_warnx("careful");
	errno = ENOENT;
	log_warn("open x");
	log_info("ready");
	log_debug("not shown");
	out = release(saved, path);
	assert_string_equal(out, "<3>bad thing\n<4>careful\n<4>open x: No such file or directory\n"
				 "<6>ready\n");
	unsetenv("JOURNAL_STREAM");
}

static void test_plain_stderr(void **state)
{
	char path[] = "/tmp/s46logXXXXXX", want[64];
	int saved = capture(path);
	char *out;

	/* A stream that is not stderr (stderr redirected after systemd started us). */
	set_journal_stream(STDERR_FILENO, 1);
	log_init(LOG_LVL_DEBUG, "socks46-test");
	assert_false(log_stderr_is_journal());
	assert_string_equal(log_journal_prefix(LOG_LVL_ERROR), "");
	log_debug("hello");
	out = release(saved, path);
	snprintf(want, sizeof(want), "Z socks46-test[%d] debug: hello\n", (int)getpid());
	assert_non_null(strstr(out, want));
	assert_true(out[0] >= '2' && out[4] == '-' && out[10] == 'T');
	assert_null(strchr(out, '<'));
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO, NULL);
}

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
	    cmocka_unit_test(test_journal_priorities),
	    cmocka_unit_test(test_plain_stderr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
