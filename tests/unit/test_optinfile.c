/* test_optinfile.c — the run-time opt-in file (write, read back, drop one) and unit names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/optinfile.h"
#include "cgpath.h"

struct seen {
	char lines[8][128];
	unsigned n;
};

static void seen_cb(enum optinfile_kind kind, const char *name, void *arg)
{
	struct seen *s = arg;
	static const char *const k[] = {"cgroup", "unit", "run"};

	assert_true(s->n < 8);
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s=%s", k[kind], name);
}

static void tmp_path(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/test_optinfile.%d/optins", (int)getpid());
}

static void test_roundtrip(void **state)
{
	const struct optinfile_item items[] = {
	    {OPTINFILE_CGROUP, "/sys/fs/cgroup/system.slice/a.service"},
	    {OPTINFILE_UNIT, "b.service"},
	    {OPTINFILE_RUN, "/sys/fs/cgroup/socks46/run-12"},
	};
	struct seen s = {0};
	char path[128];

	tmp_path(path, sizeof(path));
	/* A missing file (and directory) lists nothing; writing makes the directory. */
	assert_int_equal(optinfile_read(path, seen_cb, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(optinfile_write(path, items, 3), 0);
	assert_int_equal(optinfile_read(path, seen_cb, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "cgroup=/sys/fs/cgroup/system.slice/a.service");
	assert_string_equal(s.lines[1], "unit=b.service");
	assert_string_equal(s.lines[2], "run=/sys/fs/cgroup/socks46/run-12");

	/* Dropping is by kind and name; what is not there is 0 and leaves the file alone. */
	assert_int_equal(optinfile_drop(path, OPTINFILE_CGROUP, "b.service"), 0);
	assert_int_equal(optinfile_drop(path, OPTINFILE_UNIT, "b.service"), 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(optinfile_read(path, seen_cb, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "run=/sys/fs/cgroup/socks46/run-12");
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

/* Comments, blank lines, unknown keys and keys without a value are skipped. */
static void test_read_lenient(void **state)
{
	struct seen s = {0};
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_optinfile.%d.txt", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\n\nunit\nfuture x\nunit  c.service\n", f);
	fclose(f);
	assert_int_equal(optinfile_read(path, seen_cb, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "unit=c.service");
	unlink(path);
}

/* An over-long line is one line: its tail never becomes an opt-in of its own. */
static void test_read_long_line(void **state)
{
	struct seen s = {0};
	char path[128];
	FILE *f;

	tmp_path(path, sizeof(path));
	assert_int_equal(optinfile_write(path, NULL, 0), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "unit %0*drun /sys/fs/cgroup/evil\nunit b.service\n", 4106, 0);
	fclose(f);
	assert_int_equal(optinfile_read(path, seen_cb, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "unit=b.service");
	assert_null(strstr(s.lines[0], "run="));
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

static void test_unit_name(void **state)
{
	char out[256];

	assert_int_equal(cgpath_unit_name("foo", out, sizeof(out)), 0);
	assert_string_equal(out, "foo.service");
	assert_int_equal(cgpath_unit_name("foo.service", out, sizeof(out)), 0);
	assert_string_equal(out, "foo.service");
	assert_int_equal(cgpath_unit_name("docker-1.scope", out, sizeof(out)), 0);
	assert_string_equal(out, "docker-1.scope");
	assert_int_equal(cgpath_unit_name("socks46.slice", out, sizeof(out)), 0);
	assert_string_equal(out, "socks46.slice");
	assert_int_equal(cgpath_unit_name("a/b.service", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgpath_unit_name("", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgpath_unit_name("..", out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_read_lenient),
	    cmocka_unit_test(test_unit_name),
	    cmocka_unit_test(test_read_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
