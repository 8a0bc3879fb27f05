/* sdnotify.h — systemd's service notification protocol (sd_notify(3)) without libsystemd. */
#ifndef S46_SDNOTIFY_H
#define S46_SDNOTIFY_H

#include <stdint.h>

/*
 * Sends STATE ("READY=1", "STATUS=...", newline-separated assignments) in one
 * datagram to $NOTIFY_SOCKET (a path, or an abstract name written with a leading
 * '@'). Returns 1 when sent, 0 when no service manager listens (variable unset),
 * -errno on failure. Safe from any thread.
 */
int sdnotify_send(const char *state);
int sdnotify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with MONOTONIC_USEC=, which Type=notify-reload services must send. */
int sdnotify_reloading(void);
/* The watchdog interval systemd asked of this process ($WATCHDOG_USEC, checked against
 * $WATCHDOG_PID), in microseconds; 0 when none. */
uint64_t sdnotify_watchdog_usec(void);

#endif
