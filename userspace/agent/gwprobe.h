/* gwprobe.h — the gateways' health checks: at start-up (with warnings) and periodically. */
#ifndef S46_GWPROBE_H
#define S46_GWPROBE_H

#include <stdint.h>

struct ev_loop;
struct srvlist;
struct gwprobe;

/*
 * Sends each server of l a SOCKS5 greeting, login and a RESOLVE of "localhost" (a request
 * without side effects) and logs, at warn level, a gateway that refuses the login and, once
 * every answer is in, that no gateway answers. With interval_ms, these are health checks,
 * run again interval_ms after each round: a gateway that does not answer within timeout_ms,
 * or refuses the login, is set down (srv_health) until a check passes, and a change is
 * logged. Without, the exchange happens once and only warns. 0 or -errno.
 */
int gwprobe_start(struct gwprobe **out, struct ev_loop *loop, struct srvlist *l, uint32_t mark,
		  unsigned timeout_ms, unsigned interval_ms);
/* Stops what is still under way, silently. NULL is fine. */
void gwprobe_free(struct gwprobe *p);

#endif
