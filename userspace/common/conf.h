/* conf.h — one table of keys serves a command's long options and its `key value` file. */
#ifndef S46_CONF_H
#define S46_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONF_ERRLEN 512
/* Longer lines are refused with FILE:LINE, never split into a second key. */
#define CONF_LINE_MAX 4096

/* Where a value comes from: FILE:LINE, or the command line (file NULL, line = its position). */
struct conf_src {
	const char *file;
	unsigned line;
};

/* Applies one value to obj. Returns 0, or -errno with one message (no FILE:LINE) in err. */
typedef int conf_setter(void *obj, const char *value, const struct conf_src *src, char *err,
			size_t errlen);

enum conf_flags {
	CONF_REPEAT = 0x1, /* each occurrence adds; without it a file may set the key once */
	CONF_SWITCH = 0x2, /* `--key` takes no value; in a file `key` alone or `key yes|no` */
};

struct conf_key {
	const char *name; /* the long option without dashes, and the file's key */
	conf_setter *set;
	unsigned flags;	  /* enum conf_flags */
	const char *arg;  /* the value in the help text, e.g. "ADDR:PORT" */
	const char *help; /* one line; '\n' continues it below */
};

/* A key table ends with an entry whose name is NULL. */
const struct conf_key *conf_key_find(const struct conf_key *keys, const char *name);

/* Sets one key. 0, -ENOENT for an unknown key, or the setter's -errno; err has the message. */
int conf_set(const struct conf_key *keys, void *obj, const char *key, const char *value,
	     const struct conf_src *src, char *err, size_t errlen);

/*
 * Applies a file of `key value` lines (# starts a comment) in order. On failure returns -errno
 * with err set to "FILE:LINE: message" (or "FILE: message" when it cannot be read).
 */
int conf_load_file(const struct conf_key *keys, void *obj, const char *path, char *err,
		   size_t errlen);

/* The command line: the keys as long options, plus --config, --check-config and --help. */
struct conf_opt {
	const struct conf_key *key;
	const char *value;
};

struct conf_cmdline {
	const char *config;    /* --config FILE, else the default path when that file exists */
	bool config_given;     /* an explicit --config (FILE must exist; "none": no file at all) */
	bool check_config;     /* --check-config: parse everything, start nothing */
	bool help;	       /* --help */
	struct conf_opt *opts; /* in command-line order, replayed over the file */
	unsigned nopts;
};

/*
 * Parses argv (argv[0] is the command). Does not apply the options: values are checked when
 * conf_cmdline_apply replays them over the file. Returns 0 or -EINVAL/-ENOMEM with err set
 * ("unknown option '--x'", "missing value for '--x'", "unexpected argument 'x'").
 */
int conf_cmdline_parse(struct conf_cmdline *cl, const struct conf_key *keys,
		       const char *default_config, int argc, char **argv, char *err, size_t errlen);
void conf_cmdline_free(struct conf_cmdline *cl);
/* Whether the command line gives key at least once. */
bool conf_cmdline_has(const struct conf_cmdline *cl, const char *key);
/* Replays the options in order; err gets "--key: message". */
int conf_cmdline_apply(const struct conf_cmdline *cl, const struct conf_key *keys, void *obj,
		       char *err, size_t errlen);

/* The option lines of a command's --help, from its table, then --config and the others. */
void conf_usage(FILE *f, const struct conf_key *keys, const char *default_config);

/*
 * For commands with their own getopt_long loop (opterr 0, ':' leading the short options):
 * after '?' or ':', prints "socks46 CMD: unknown option '--x' (try socks46 CMD --help)" or the
 * missing-value line, and returns 2, the exit status of a bad command line.
 */
int conf_getopt_fail(const char *cmd, int c, char **argv);

/* Parses an unsigned number in [min, max] (decimal, or 0x hex). Returns 0 or -EINVAL. */
int conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* The `log-level` key of both daemons: error, warn, info or debug into *out; 0 or conf_err's
 * -EINVAL. */
int conf_parse_log_level(const char *v, int *out, char *err, size_t errlen);
/* Formats a configuration error message into err; returns -EINVAL for the caller to pass on. */
int conf_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * A password file: its first line, without the newline, 1-255 bytes (RFC 1929). Every buffer
 * that held it is wiped. Returns 0 with a new string in *out, -EINVAL for an empty or longer
 * line, or -errno when the file cannot be read.
 */
int conf_read_password(const char *path, char **out);
/* Wipes and frees a password (NULL is fine). */
void conf_free_password(char *pass);

#endif
