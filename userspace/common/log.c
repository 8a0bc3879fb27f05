/* log.c — leveled log lines to stderr, one write() per line so threads do not interleave;
 * journald's own format when stderr is the journal. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level = LOG_LVL_INFO;
static const char *log_ident = "socks46";
static const char *log_fatal_prefix; /* "socks46 COMMAND"; NULL: the ident */

static const char *const log_names[] = {"error", "warn", "info", "debug"};
/* syslog(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int log_prio[] = {3, 4, 6, 7};
static int log_journal = -1; /* -1: not looked at yet */

/* systemd sets JOURNAL_STREAM=DEV:INODE for a stderr connected to the journal; a stderr
 * redirected since (by a test, a shell) no longer matches. */
bool log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static bool log_journal_mode(void)
{
	if (log_journal < 0)
		log_journal = log_stderr_is_journal();
	return log_journal;
}

const char *log_journal_prefix(enum log_level level)
{
	static const char *const prefixes[] = {"<3>", "<4>", "<6>", "<7>"};

	return log_journal_mode() ? prefixes[level] : "";
}

void log_init(enum log_level level, const char *ident)
{
	log_level = level;
	if (ident)
		log_ident = ident;
	log_journal = log_stderr_is_journal();
}

void log_set_fatal_prefix(const char *prefix)
{
	log_fatal_prefix = prefix;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (!strcasecmp(name, log_names[i]))
			return (int)i;
	return -EINVAL;
}

static void log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n, m;

	if (level > log_level)
		return;
	if (log_journal_mode()) {
		/* The journal stamps time, pid and unit itself; the priority replaces the level. */
		n = snprintf(line, sizeof(line), "<%d>", log_prio[level]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000, log_ident, (int)getpid(), log_names[level]);
	}
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m > 0)
		n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (err >= 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(level, with_errno ? saved : -1, fmt, ap);                               \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_error, LOG_LVL_ERROR, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

/* Start-up errors are the one line a user reads: no timestamp, just the message. */
static void log_fatal_line(int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n < 0)
		n = 0;
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (err >= 0)
		fprintf(stderr, "%s%s: %.*s: %s\n", log_journal_prefix(LOG_LVL_ERROR),
			log_fatal_prefix ?: log_ident, n, line, strerror(err));
	else
		fprintf(stderr, "%s%s: %.*s\n", log_journal_prefix(LOG_LVL_ERROR),
			log_fatal_prefix ?: log_ident, n, line);
}

static noreturn void fatal_v(int err, const char *fmt, va_list ap)
{
	log_fatal_line(err, fmt, ap);
	exit(1);
}

int log_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fatal_line(-1, fmt, ap);
	va_end(ap);
	return -1;
}

noreturn void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	fatal_v(saved, fmt, ap);
}

noreturn void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fatal_v(-1, fmt, ap);
}

const char *log_escape(const char *s, char *buf, size_t len)
{
	size_t j = 0;

	if (!s)
		s = "-";
	for (; *s && j + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || c == '\\')
			j += (size_t)snprintf(buf + j, len - j, "\\x%02x", c);
		else
			buf[j++] = (char)c;
	}
	buf[j] = '\0';
	return buf;
}
