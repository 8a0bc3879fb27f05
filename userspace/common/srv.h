/* srv.h — one SOCKS5 server: where it is, how to log in, and its health. */
#ifndef S46_SRV_H
#define S46_SRV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "s5client.h"

struct srv {
	char *name;		      /* for logs and status */
	char *host;		      /* a name to resolve, or NULL when addr is set */
	struct sockaddr_storage addr; /* IP literal, port set; family 0 with host */
	uint16_t port;
	char *user; /* RFC 1929 login; NULL: method 0x00 */
	char *pass;
	/* Shared by every thread and every list that holds the server. */
	atomic_uint refs;
	atomic_uint fails;		/* failed attempts in a row */
	atomic_uint_fast64_t bad_until; /* skipped until then (ms on the callers' clock) */
	atomic_bool down;		/* the last health check failed: skipped until one passes */
	atomic_uint inflight;		/* connections on it now */
	atomic_uint_fast64_t total;	/* connections it carried */
};

/* An empty server (fields filled by the caller, strings malloc'd), one reference. */
int srv_new(struct srv **out);
/* A server at the IP literal sa, named after it; user and pass are copied (NULL: none). */
int srv_new_addr(struct srv **out, const struct sockaddr *sa, const char *user, const char *pass);
struct srv *srv_ref(struct srv *s);
/* Drops a reference; the last one frees it (and wipes the password). NULL is fine. */
void srv_free(struct srv *s);

/* Same host or address and port. */
bool srv_same_place(const struct srv *a, const struct srv *b);
/* Same place and the same login. */
bool srv_same(const struct srv *a, const struct srv *b);
/* b takes over a's health (a server that stays across a reload). */
void srv_copy_health(struct srv *b, const struct srv *a);

/*
 * A finished attempt at time now: ok resets the failure count; every
 * fail_limit-th failure in a row marks the server bad for bad_ms. Returns true
 * when this report marked it bad (for a time above 0).
 */
bool srv_report(struct srv *s, bool ok, uint64_t now, unsigned fail_limit, unsigned bad_ms);
/* Failing recently or down by the last health check. */
bool srv_is_bad(const struct srv *s, uint64_t now);
/* A health check's verdict: a failed one sets the server down until one passes, which also
 * clears its failures. */
void srv_health(struct srv *s, bool ok);
bool srv_is_down(const struct srv *s);
/* A connection starts or stops using s (least-conns and status count them). */
void srv_conn_begin(struct srv *s);
void srv_conn_end(struct srv *s);
unsigned srv_inflight(const struct srv *s);
uint64_t srv_total(const struct srv *s);
/* Failed attempts since the last success. */
unsigned srv_failures(const struct srv *s);

/*
 * Connects a non-blocking socket to the literal address of s (with SO_MARK
 * mark unless 0) and starts the SOCKS5 handshake for cmd and dst on it,
 * pipelined; *cl reports like s5client_start. Returns the fd (the caller's
 * to close) or -errno.
 */
int srv_dial(const struct srv *s, struct ev_loop *loop, uint32_t mark, uint8_t cmd,
	     const struct socks5_addr *dst, s5client_cb *cb, void *arg, struct s5client **cl);

#endif
