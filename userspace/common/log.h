/* log.h — the small logging API every component writes through. */
#ifndef S46_LOG_H
#define S46_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_init(enum log_level level, const char *ident);
/* What fatal lines start with, e.g. "socks46 agent" (the ident when not set). */
void log_set_fatal_prefix(const char *prefix);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Whether stderr is the journal ($JOURNAL_STREAM names it): then lines are "<N>message",
 * N the syslog priority, without a timestamp or pid of their own. log_init looks again. */
bool log_stderr_is_journal(void);
/* "<N>" for a line of LEVEL written to stderr by hand (start-up errors), "" when stderr is not
 * the journal. */
const char *log_journal_prefix(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; returns the level or -EINVAL. */
int log_level_parse(const char *name);

/* log_warn and fatal append strerror(errno); the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failures that unwind and free: fatalx's line, then return -1 (exit status 1). */
int log_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only during start-up: print one line and exit(1). */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Text a client chose (names, user names), made safe for a log line: spaces, control bytes,
 * bytes above 0x7e and '\\' become \xHH; NULL is "-". Truncated to fit len; returns buf. */
const char *log_escape(const char *s, char *buf, size_t len);

#endif
