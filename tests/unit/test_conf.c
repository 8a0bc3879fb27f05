/* test_conf.c — the shared reader: key tables, FILE:LINE errors, long options, password files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

/* A toy component: one single-valued key, one repeatable, one switch. */
struct toy {
	unsigned long size;
	char names[8][32];
	unsigned nnames;
	unsigned name_line[8];
	int verbose; /* -1 unset, 0 no, 1 yes */
	int cloexec; /* while the file was read: 1 its descriptor had FD_CLOEXEC */
};

static int toy_set_size(void *obj, const char *v, const struct conf_src *src, char *err,
			size_t errlen)
{
	struct toy *t = obj;

	if (conf_parse_uint(v, 1, 100, &t->size) < 0)
		return conf_err(err, errlen, "size: '%s' is not a number in 1..100", v);
	return 0;
}

static int toy_set_name(void *obj, const char *v, const struct conf_src *src, char *err,
			size_t errlen)
{
	struct toy *t = obj;

	if (t->nnames == 8 || strlen(v) >= 32)
		return conf_err(err, errlen, "name: too many or too long");
	t->name_line[t->nnames] = src->line;
	strcpy(t->names[t->nnames++], v);
	return 0;
}

static int toy_set_verbose(void *obj, const char *v, const struct conf_src *src, char *err,
			   size_t errlen)
{
	((struct toy *)obj)->verbose = !strcmp(v, "yes");
	return 0;
}

/* Looks for a descriptor of the file being read and records whether it is close-on-exec. */
static int toy_set_probe(void *obj, const char *v, const struct conf_src *src, char *err,
			 size_t errlen)
{
	struct toy *t = obj;
	char link[300], target[256];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;

	assert_non_null(d);
	while ((de = readdir(d))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, src->file))
			t->cloexec = (fcntl(atoi(de->d_name), F_GETFD) & FD_CLOEXEC) != 0;
	}
	closedir(d);
	return 0;
}

static const struct conf_key toy_keys[] = {
    {"size", toy_set_size, 0, "N", "a size"},
    {"name", toy_set_name, CONF_REPEAT, "NAME", "a name; repeatable"},
    {"verbose", toy_set_verbose, CONF_SWITCH, NULL, "say more"},
    {"probe", toy_set_probe, 0, "X", "looks at the reader's descriptor"},
    {NULL, NULL, 0, NULL, NULL},
};

static char tmp_path[64];

static const char *write_tmp(const char *text, size_t len)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/s46_conf_XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return tmp_path;
}

static void toy_init(struct toy *t)
{
	memset(t, 0, sizeof(*t));
	t->verbose = -1;
	t->cloexec = -1;
}

/* Loads text; returns the reader's result with err holding the message after "FILE:". */
static int load(struct toy *t, const char *text, char *err, size_t errlen)
{
	const char *path = write_tmp(text, strlen(text));
	char full[CONF_ERRLEN];
	size_t plen = strlen(path);
	int ret;

	toy_init(t);
	ret = conf_load_file(toy_keys, t, path, full, sizeof(full));
	unlink(path);
	if (ret < 0) {
		assert_memory_equal(full, path, plen);
		assert_int_equal(full[plen], ':');
		snprintf(err, errlen, "%s", full + plen + 1);
	}
	return ret;
}

static void test_file_ok(void **state)
{
	struct toy t;
	char err[CONF_ERRLEN];

	assert_int_equal(load(&t,
			      "# a comment\n"
			      "  size 42   # trailing comment\n"
			      "\n"
			      "name one\r\n"
			      "\tname   two words  \n"
			      "verbose\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(t.size, 42);
	assert_int_equal(t.nnames, 2);
	assert_string_equal(t.names[0], "one");
	assert_string_equal(t.names[1], "two words");
	/* Setters learn where their value comes from. */
	assert_int_equal(t.name_line[0], 4);
	assert_int_equal(t.name_line[1], 5);
	assert_int_equal(t.verbose, 1);
	assert_int_equal(load(&t, "verbose no\nname last-line-without-newline", err, sizeof(err)),
			 0);
	assert_int_equal(t.verbose, 0);
	assert_string_equal(t.names[0], "last-line-without-newline");
}

static void assert_load_error(const char *text, int want_ret, const char *want)
{
	struct toy t;
	char err[CONF_ERRLEN];

	assert_int_equal(load(&t, text, err, sizeof(err)), want_ret);
	print_message("got: %s\n", err);
	assert_string_equal(err, want);
}

static void test_file_errors(void **state)
{
	assert_load_error("size 1\nsise 2\n", -ENOENT, "2: unknown key 'sise'");
	assert_load_error("\n\nsize\n", -EINVAL, "3: missing value for 'size'");
	assert_load_error("size 0\n", -EINVAL, "1: size: '0' is not a number in 1..100");
	assert_load_error("verbose maybe\n", -EINVAL, "1: verbose: 'maybe' is not yes or no");
	/* A single-valued key given twice is a mistake; a repeatable one adds. */
	assert_load_error("size 1\nname a\nname b\n# x\nsize 2\n", -EINVAL,
			  "5: 'size' is already set on line 1 (it takes one value)");
	assert_load_error("verbose\nverbose no\n", -EINVAL,
			  "2: 'verbose' is already set on line 1 (it takes one value)");
}

/* A line longer than the limit is refused where it is, never read as two lines. */
static void test_long_line(void **state)
{
	char *text = malloc(2 * CONF_LINE_MAX), err[CONF_ERRLEN], *p = text;
	struct toy t;

	assert_non_null(text);
	/* A fixed buffer of CONF_LINE_MAX bytes would read "size 9" as a line of its own. */
	p += sprintf(p, "size 1\nname ");
	memset(p, 'a', CONF_LINE_MAX - 1 - 5);
	p += CONF_LINE_MAX - 1 - 5;
	strcpy(p, "size 9\nname ok\n");
	assert_int_equal(load(&t, text, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "2: line longer than 4096 bytes");
	assert_int_equal(t.size, 1);
	assert_int_equal(t.nnames, 0);
	/* Exactly the limit, newline included, is fine. */
	p = text + sprintf(text, "name ");
	memset(p, 'b', 20);
	memset(p + 20, ' ', CONF_LINE_MAX - 1 - 5 - 20);
	strcpy(text + CONF_LINE_MAX - 1, "\n");
	assert_int_equal(strlen(text), CONF_LINE_MAX);
	assert_int_equal(load(&t, text, err, sizeof(err)), 0);
	assert_int_equal(t.nnames, 1);
	assert_int_equal(strlen(t.names[0]), 20);
	free(text);
}

static void test_nul_byte(void **state)
{
	const char text[] = "size 1\nname a\0size 2\n";
	const char *path = write_tmp(text, sizeof(text) - 1);
	char err[CONF_ERRLEN], want[CONF_ERRLEN];
	struct toy t;

	toy_init(&t);
	assert_int_equal(conf_load_file(toy_keys, &t, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in the line", path);
	assert_string_equal(err, want);
	unlink(path);
}

static void test_missing_file_and_cloexec(void **state)
{
	char err[CONF_ERRLEN];
	struct toy t;

	toy_init(&t);
	assert_int_equal(conf_load_file(toy_keys, &t, "/nonexistent/s46.conf", err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/s46.conf: cannot open: No such file or directory");
	assert_int_equal(load(&t, "probe x\n", err, sizeof(err)), 0);
	assert_int_equal(t.cloexec, 1);
}

static void test_set(void **state)
{
	struct conf_src src = {0};
	char err[CONF_ERRLEN];
	struct toy t;

	toy_init(&t);
	assert_int_equal(conf_set(toy_keys, &t, "size", "7", &src, err, sizeof(err)), 0);
	assert_int_equal(t.size, 7);
	assert_int_equal(conf_set(toy_keys, &t, "nope", "1", &src, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown key 'nope'");
	assert_non_null(conf_key_find(toy_keys, "name"));
	assert_null(conf_key_find(toy_keys, "config"));
}

static int parse(struct conf_cmdline *cl, const char *dflt, char *err, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return conf_cmdline_parse(cl, toy_keys, dflt, argc, argv, err, CONF_ERRLEN);
}

static void test_cmdline(void **state)
{
	char *ok[] = {"toy",	  "--name",
		      "a",	  "--verbose",
		      "--size=3", "--name",
		      "b",	  "--check-config",
		      "--config", "/nonexistent/explicit.conf",
		      NULL};
	char *unknown[] = {"toy", "--colour", "red", NULL};
	char *missing[] = {"toy", "--size", NULL};
	char *extra[] = {"toy", "--size", "1", "stray", NULL};
	char *bad[] = {"toy", "--name", "x", "--size", "1000", NULL};
	char err[CONF_ERRLEN];
	struct conf_cmdline cl;
	struct toy t;

	assert_int_equal(parse(&cl, "/nonexistent/default.conf", err, ok), 0);
	assert_int_equal(cl.nopts, 4);
	assert_true(cl.check_config);
	assert_false(cl.help);
	/* An explicit --config is kept even when missing: loading it then fails. */
	assert_true(cl.config_given);
	assert_string_equal(cl.config, "/nonexistent/explicit.conf");
	assert_true(conf_cmdline_has(&cl, "verbose"));
	assert_false(conf_cmdline_has(&cl, "probe"));
	toy_init(&t);
	assert_int_equal(conf_cmdline_apply(&cl, toy_keys, &t, err, sizeof(err)), 0);
	assert_int_equal(t.nnames, 2);
	assert_string_equal(t.names[1], "b");
	assert_int_equal(t.size, 3);
	assert_int_equal(t.verbose, 1);
	conf_cmdline_free(&cl);

	assert_int_equal(parse(&cl, NULL, err, unknown), -EINVAL);
	assert_string_equal(err, "unknown option '--colour'");
	conf_cmdline_free(&cl);
	assert_int_equal(parse(&cl, NULL, err, missing), -EINVAL);
	assert_string_equal(err, "missing value for option '--size'");
	conf_cmdline_free(&cl);
	assert_int_equal(parse(&cl, NULL, err, extra), -EINVAL);
	assert_string_equal(err, "unexpected argument 'stray'");
	conf_cmdline_free(&cl);
	/* Values are checked when applied, with the option's name. */
	assert_int_equal(parse(&cl, NULL, err, bad), 0);
	assert_int_equal(conf_cmdline_apply(&cl, toy_keys, &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--size: '1000' is not a number in 1..100");
	conf_cmdline_free(&cl);
}

/* The default file is read when it exists; a missing default is no error. */
static void test_default_config(void **state)
{
	char *none[] = {"toy", NULL};
	char *no_file[] = {"toy", "--config", "none", NULL};
	const char *path = write_tmp("size 5\n", 7);
	char err[CONF_ERRLEN];
	struct conf_cmdline cl;

	assert_int_equal(parse(&cl, path, err, none), 0);
	assert_string_equal(cl.config, path);
	assert_false(cl.config_given);
	conf_cmdline_free(&cl);
	/* --config none: no file, not even the default one. */
	assert_int_equal(parse(&cl, path, err, no_file), 0);
	assert_null(cl.config);
	assert_true(cl.config_given);
	conf_cmdline_free(&cl);
	unlink(path);
	assert_int_equal(parse(&cl, path, err, none), 0);
	assert_null(cl.config);
	conf_cmdline_free(&cl);
}

static void test_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	conf_usage(f, toy_keys, "/etc/toy.conf");
	fclose(f);
	assert_non_null(strstr(buf, "  --size N                  a size\n"));
	assert_non_null(strstr(buf, "  --verbose                 say more\n"));
	assert_non_null(strstr(buf, "--config FILE"));
	assert_non_null(strstr(buf, "/etc/toy.conf"));
	assert_non_null(strstr(buf, "--check-config"));
	free(buf);
}

static void test_parse_uint(void **state)
{
	unsigned long v;

	assert_int_equal(conf_parse_uint("0x10", 0, 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(conf_parse_uint("101", 0, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint("", 0, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint(" 1", 0, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint("99999999999999999999999", 0, ~0UL, &v), -EINVAL);
}

static void test_password(void **state)
{
	char long_line[300], *pw = NULL;
	const char *path;

	path = write_tmp("s3cret\r\nsecond line\n", 20);
	assert_int_equal(conf_read_password(path, &pw), 0);
	assert_string_equal(pw, "s3cret");
	conf_free_password(pw);
	unlink(path);
	path = write_tmp("no newline", 10);
	assert_int_equal(conf_read_password(path, &pw), 0);
	assert_string_equal(pw, "no newline");
	conf_free_password(pw);
	unlink(path);
	path = write_tmp("\nsecond\n", 8);
	assert_int_equal(conf_read_password(path, &pw), -EINVAL);
	unlink(path);
	memset(long_line, 'p', sizeof(long_line));
	path = write_tmp(long_line, sizeof(long_line));
	assert_int_equal(conf_read_password(path, &pw), -EINVAL);
	unlink(path);
	assert_int_equal(conf_read_password("/nonexistent/pw", &pw), -ENOENT);
	conf_free_password(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_ok),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_missing_file_and_cloexec),
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_cmdline),
	    cmocka_unit_test(test_default_config),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_parse_uint),
	    cmocka_unit_test(test_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
