/* s5client.h — the client side of a SOCKS5 handshake (RFC 1928/1929), non-blocking. */
#ifndef S46_S5CLIENT_H
#define S46_S5CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ev.h"
#include "socks5.h"

struct s5client;

/*
 * Called for every reply the server sends: err 0 with its REP and BND. final
 * is false only for the first reply of a successful BIND: the second follows
 * in another call. On err > 0 the handshake failed before a reply: EACCES
 * (no acceptable method, credentials rejected), EPROTO (malformed answer),
 * ECONNRESET (closed early) or the socket's errno. After a final or failed call
 * the s5client is gone; the fd is the caller's throughout and was never read
 * past the reply, so stream bytes that follow stay in the socket.
 */
typedef void s5client_cb(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd,
			 bool final);

/*
 * Runs the handshake on the connected non-blocking socket fd: greeting
 * (method 0x02 when user is set, else 0x00), RFC 1929 login, then cmd for
 * dst. Returns 0, or -errno (and *out NULL) if it cannot start.
 */
int s5client_start(struct s5client **out, struct ev_loop *loop, int fd, const char *user,
		   const char *pass, uint8_t cmd, const struct socks5_addr *dst, s5client_cb *cb,
		   void *arg);
/*
 * Sends the login and the request right behind the greeting instead of after
 * each answer: two round trips less with a server that reads them with
 * explicit framing (ours does). Call right after s5client_start. What the
 * socket takes at once is written here, never with a callback.
 */
int s5client_pipeline(struct s5client *c);

/*
 * fn(arg) runs once when the server has chosen the method offered: it is alive
 * and working on the handshake. fn must not cancel c.
 */
typedef void s5client_chosen_cb(void *arg);
void s5client_on_chosen(struct s5client *c, s5client_chosen_cb *fn);

/* Stops it without a callback; fd is left open and unregistered. */
void s5client_cancel(struct s5client *c);

/* Bytes still needed to complete a reply whose first have bytes are in buf (0: complete). */
size_t s5client_reply_need(const uint8_t *buf, size_t have);

#endif
