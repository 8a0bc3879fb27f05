/* agentsd.h — the agent's side of systemd's notification protocol: readiness, status, watchdog. */
#ifndef S46_AGENTSD_H
#define S46_AGENTSD_H

struct agent;

/* READY=1 with a STATUS= line: at start once attached and serving, and after a reload. */
void agentsd_ready(struct agent *a);
/* Under systemd: STATUS= every few seconds and, with WatchdogSec=, WATCHDOG=1 at half the
 * interval, both from the agent's loop (a stuck loop stops the pings and is restarted). */
void agentsd_start(struct agent *a);
void agentsd_stop(struct agent *a);

#endif
