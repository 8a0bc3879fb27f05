/* conf.c — the `key value` file reader and long-option parser behind every command's key table. */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* getopt_long values: keys are CONF_OPT_KEY + their index. */
enum {
	CONF_OPT_HELP = 'h',
	CONF_OPT_CONFIG = 0x100,
	CONF_OPT_CHECK,
	CONF_OPT_KEY,
};

int conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int conf_parse_log_level(const char *v, int *out, char *err, size_t errlen)
{
	int l = log_level_parse(v);

	if (l < 0)
		return conf_err(err, errlen,
				"log-level: '%s' is not one of error, warn, info, debug", v);
	*out = l;
	return 0;
}

const struct conf_key *conf_key_find(const struct conf_key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (!strcmp(keys->name, name))
			return keys;
	return NULL;
}

int conf_set(const struct conf_key *keys, void *obj, const char *key, const char *value,
	     const struct conf_src *src, char *err, size_t errlen)
{
	const struct conf_key *k = conf_key_find(keys, key);

	if (!k) {
		conf_err(err, errlen, "unknown key '%s'", key);
		return -ENOENT;
	}
	return k->set(obj, value, src, err, errlen);
}

static char *conf_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* A switch alone on its line means yes; anything else but yes or no is refused. */
static int conf_switch_value(const char *key, const char **val, char *err, size_t errlen)
{
	if (!**val)
		*val = "yes";
	else if (strcmp(*val, "yes") && strcmp(*val, "no"))
		return conf_err(err, errlen, "%s: '%s' is not yes or no", key, *val);
	return 0;
}

/* The line where each single-valued key was set, to refuse a second one. */
struct conf_seen {
	const struct conf_key *keys;
	unsigned *line;
};

/* One line: strips the comment, splits key from value; empty lines are fine. */
static int conf_line(const struct conf_seen *seen, void *obj, char *line,
		     const struct conf_src *src, char *err, size_t errlen)
{
	char *hash = strchr(line, '#'), *key;
	const struct conf_key *k;
	const char *val;
	size_t idx;
	int ret;

	if (hash)
		*hash = '\0';
	key = conf_trim(line);
	if (!*key)
		return 0;
	val = key + strcspn(key, " \t");
	if (*val)
		*(char *)val++ = '\0';
	val = conf_trim((char *)val);
	k = conf_key_find(seen->keys, key);
	if (!k) {
		conf_err(err, errlen, "unknown key '%s'", key);
		return -ENOENT;
	}
	idx = (size_t)(k - seen->keys);
	if (!(k->flags & CONF_REPEAT) && seen->line[idx])
		return conf_err(err, errlen, "'%s' is already set on line %u (it takes one value)",
				key, seen->line[idx]);
	seen->line[idx] = src->line;
	if (k->flags & CONF_SWITCH) {
		ret = conf_switch_value(key, &val, err, errlen);
		if (ret < 0)
			return ret;
	} else if (!*val) {
		return conf_err(err, errlen, "missing value for '%s'", key);
	}
	return k->set(obj, val, src, err, errlen);
}

static FILE *conf_open(const char *path, char *err, size_t errlen, int *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	FILE *f;

	if (fd < 0) {
		*ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static size_t conf_nkeys(const struct conf_key *keys)
{
	size_t n = 0;

	while (keys[n].name)
		n++;
	return n;
}

int conf_load_file(const struct conf_key *keys, void *obj, const char *path, char *err,
		   size_t errlen)
{
	struct conf_seen seen = {.keys = keys};
	struct conf_src src = {.file = path};
	char *line = NULL, msg[CONF_ERRLEN - 64];
	size_t cap = 0;
	ssize_t n;
	int ret = 0;
	FILE *f = conf_open(path, err, errlen, &ret);

	if (!f)
		return ret;
	seen.line = calloc(conf_nkeys(keys) + 1, sizeof(*seen.line));
	if (!seen.line) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	errno = 0;
	while (!ret && (n = getline(&line, &cap, f)) >= 0) {
		src.line++;
		if ((size_t)n > CONF_LINE_MAX || memchr(line, '\0', (size_t)n)) {
			snprintf(err, errlen, "%s:%u: %s", path, src.line,
				 (size_t)n > CONF_LINE_MAX ? "line longer than 4096 bytes"
							   : "NUL byte in the line");
			ret = -EINVAL;
		} else if ((ret = conf_line(&seen, obj, line, &src, msg, sizeof(msg))) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, src.line, msg);
		}
	}
	if (!ret && ferror(f)) {
		ret = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: read error: %s", path, strerror(-ret));
	}
	free(line);
	free(seen.line);
	fclose(f);
	return ret;
}

static struct option *conf_longopts(const struct conf_key *keys)
{
	size_t n = conf_nkeys(keys), i;
	struct option *lo = calloc(n + 4, sizeof(*lo));

	if (!lo)
		return NULL;
	for (i = 0; i < n; i++)
		lo[i] = (struct option){
		    keys[i].name, keys[i].flags & CONF_SWITCH ? no_argument : required_argument,
		    NULL, CONF_OPT_KEY + (int)i};
	lo[i++] = (struct option){"config", required_argument, NULL, CONF_OPT_CONFIG};
	lo[i++] = (struct option){"check-config", no_argument, NULL, CONF_OPT_CHECK};
	lo[i++] = (struct option){"help", no_argument, NULL, CONF_OPT_HELP};
	return lo;
}

static int conf_cmdline_opt(struct conf_cmdline *cl, const struct conf_key *keys, int c,
			    const char *arg)
{
	switch (c) {
	case CONF_OPT_HELP:
		cl->help = true;
		break;
	case CONF_OPT_CONFIG:
		/* "none": not even the default file (a private instance, e.g. socks46 run's). */
		cl->config = strcmp(arg, "none") ? arg : NULL;
		cl->config_given = true;
		break;
	case CONF_OPT_CHECK:
		cl->check_config = true;
		break;
	default:
		cl->opts[cl->nopts].key = &keys[c - CONF_OPT_KEY];
		cl->opts[cl->nopts++].value = arg ? arg : "yes";
		break;
	}
	return 0;
}

int conf_cmdline_parse(struct conf_cmdline *cl, const struct conf_key *keys,
		       const char *default_config, int argc, char **argv, char *err, size_t errlen)
{
	struct option *lo = conf_longopts(keys);
	int c, ret = 0;

	memset(cl, 0, sizeof(*cl));
	cl->opts = calloc((size_t)argc + 1, sizeof(*cl->opts));
	if (!lo || !cl->opts) {
		free(lo);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	opterr = 0;
	optind = 1;
	while (!ret && (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == '?' || c == ':')
			ret =
			    conf_err(err, errlen, "%s option '%s'",
				     c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
		else
			ret = conf_cmdline_opt(cl, keys, c, optarg);
	}
	if (!ret && optind < argc)
		ret = conf_err(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (!cl->config_given && default_config && !access(default_config, F_OK))
		cl->config = default_config;
	free(lo);
	return ret;
}

void conf_cmdline_free(struct conf_cmdline *cl)
{
	free(cl->opts);
	cl->opts = NULL;
	cl->nopts = 0;
}

bool conf_cmdline_has(const struct conf_cmdline *cl, const char *key)
{
	for (unsigned i = 0; i < cl->nopts; i++)
		if (!strcmp(cl->opts[i].key->name, key))
			return true;
	return false;
}

int conf_cmdline_apply(const struct conf_cmdline *cl, const struct conf_key *keys, void *obj,
		       char *err, size_t errlen)
{
	char msg[CONF_ERRLEN - 64];

	for (unsigned i = 0; i < cl->nopts; i++) {
		const struct conf_key *k = cl->opts[i].key;
		struct conf_src src = {.line = i + 1};
		int ret = k->set(obj, cl->opts[i].value, &src, msg, sizeof(msg));

		if (ret < 0) {
			snprintf(err, errlen, "--%s", msg);
			return ret;
		}
	}
	return 0;
}

int conf_getopt_fail(const char *cmd, int c, char **argv)
{
	fprintf(stderr, "%ssocks46 %s: %s option '%s' (try socks46 %s --help)\n",
		log_journal_prefix(LOG_LVL_ERROR), cmd, c == ':' ? "missing value for" : "unknown",
		argv[optind - 1], cmd);
	return 2;
}

/* "  --name ARG" padded to the help column, or alone on its line when too long. */
static void conf_usage_line(FILE *f, const char *name, const char *arg, const char *help)
{
	const char *nl;
	int n = fprintf(f, "  --%s%s%s", name, arg ? " " : "", arg ? arg : "");

	if (n > 27) {
		fputc('\n', f);
		n = 0;
	}
	fprintf(f, "%*s", 28 - n, "");
	while ((nl = strchr(help, '\n'))) {
		fprintf(f, "%.*s\n%28s", (int)(nl - help), help, "");
		help = nl + 1;
	}
	fprintf(f, "%s\n", help);
}

void conf_usage(FILE *f, const struct conf_key *keys, const char *default_config)
{
	char help[256];

	for (; keys->name; keys++)
		conf_usage_line(f, keys->name, keys->arg, keys->help);
	snprintf(help, sizeof(help),
		 "`key value` lines with the keys above; options win;\n"
		 "reread on SIGHUP (default %s if it exists;\n"
		 "none: no file)",
		 default_config);
	conf_usage_line(f, "config", "FILE", help);
	conf_usage_line(f, "check-config", NULL,
			"read the configuration and every file it names, start nothing;\n"
			"exit 0 when valid, else one error line and exit 1");
	conf_usage_line(f, "help", NULL, "this text");
}

/* read(2) into one stack buffer: no stdio buffer or realloc leaves a copy behind. */
int conf_read_password(const char *path, char **out)
{
	char buf[512];
	size_t len = 0, n;
	ssize_t r;
	int ret = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		len += (size_t)r;
		if (memchr(buf, '\n', len))
			break;
	}
	close(fd);
	buf[len] = '\0';
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (!ret && (n == 0 || n > 255))
		ret = -EINVAL;
	if (!ret && !(*out = strdup(buf)))
		ret = -ENOMEM;
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

void conf_free_password(char *pass)
{
	if (pass)
		explicit_bzero(pass, strlen(pass));
	free(pass);
}
