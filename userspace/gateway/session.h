/* session.h — one client connection's state, shared by the session, handshake and command files. */
#ifndef S46_SESSION_H
#define S46_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway.h"
#include "happy.h"
#include "list.h"
#include "relay.h"
#include "socks5.h"

/* Bytes a client may pipeline with its handshake before the reply: kept and relayed first. */
#define SESSION_INBUF 1024

enum session_state {
	SESSION_GREETING,
	SESSION_AUTH,
	SESSION_AUTH_WAIT, /* the pool is hashing the password; the client is not read */
	SESSION_REQUEST,
	SESSION_CONNECTING, /* happy eyeballs (or a RESOLVE lookup) under way */
	SESSION_REPLYING,   /* success reply partly written */
	SESSION_BINDING,    /* BIND: first reply sent, waiting for the peer to connect in */
	SESSION_RELAY,
	SESSION_LINGER, /* final reply queued; then half-close and wait for the client's EOF */
	SESSION_UDP,	/* UDP ASSOCIATE: the control connection is only watched for its end */
};

/* Only while the handshake runs: freed when the relay starts. */
struct session_hs {
	uint16_t in_len, out_len, out_off;
	uint8_t out[SOCKS5_REPLY_MAX + 8];
	uint8_t in[SESSION_INBUF];
};

struct session {
	struct list_head link; /* in the worker's sessions */
	struct worker *w;
	int cfd, ofd;
	uint8_t state;
	uint8_t creg; /* events cfd is registered for, 0 = not registered */
	uint8_t cmd;
	uint8_t handoff; /* an agent handed cfd over (handoff.c): no SOCKS5 on it, no replies */
	int16_t rep;	 /* reply code sent, -1 = none */
	int err;	 /* errno behind the result, 0 = none */
	const char *why; /* result for the log line */
	uint64_t start_ms;
	union happy_sa client, via;
	char *user;
	struct socks5_addr *dst; /* the request's destination (literals unwrapped); NULL before */
	char *dest;		 /* dst formatted, once relaying (dst is then freed) */
	struct session_hs *hs;
	struct happy *happy;
	struct resolv_query *query;
	struct udp_assoc *udp;
	struct chain *chain;  /* request sent on through an upstream */
	struct bindcmd *bind; /* BIND waiting for its peer */
	char *upname;	      /* the upstream used, for the log line */
	struct auth_job *job; /* in the auth pool; the worker frees it */
	struct ev_timer timer;
	struct relay relay;
};

/* session.c: lifecycle, the handshake's output buffer, final replies. */
/* Logs the connection and frees it; why/err (if why is set) are the result. */
void session_end(struct session *s, const char *why, int err);
/* Registers cfd for exactly these events (0 = none). Returns 0 or -errno. */
int session_watch(struct session *s, unsigned events);
/* Writes queued bytes; returns 0 when all are out, 1 if some wait for EV_WRITE, or -errno. */
int session_flush(struct session *s);
/* On EV_WRITE: flushes; once all is out, cfd is watched for EV_READ only. -1: do not go on. */
int session_write_ready(struct session *s);
/* Reads and drops what the client sends; its EOF (or an error) ends the session. */
void session_discard(struct session *s);
void session_queue(struct session *s, const uint8_t *buf, size_t n);
/* Sends a final message (a failure reply, 0xFF, an auth failure) and closes after it. */
void session_finish_with(struct session *s, const uint8_t *buf, size_t n, const char *why, int err);
/* Sends a failure reply with an empty BND and closes after it. */
void session_fail(struct session *s, uint8_t rep, const char *why, int err);
/* A connection an agent handed over with its request (len bytes, one whole CONNECT):
 * served as if that request had just been read. Returns 0 or -errno (fd then closed). */
int session_new_handoff(struct worker *w, int fd, const struct sockaddr *peer, const uint8_t *req,
			size_t len);
/* s->ofd is connected: send the success reply in buf, then relay. */
void session_reply_then_relay(struct session *s, const uint8_t *buf, size_t n);

/* handshake.c: greeting, RFC 1929 authentication, and reading until a request is complete. */
void handshake_io(struct session *s, unsigned events);

/* request.c: a parsed request's rules, upstream route and dispatch to its command. */
/* Parses a request at buf; a complete one is started. Returns as socks5_parse_request. */
int request_parse(struct session *s, const uint8_t *buf, size_t len);
/* happy_opts.filter: access rules (and routes) for each address a name resolved to. */
int request_filter(void *arg, const struct sockaddr *sa);

/* connectcmd.c */
void connectcmd_start(struct session *s, struct socks5_addr *dst);
/* resolvecmd.c */
void resolvecmd_start(struct session *s, struct socks5_addr *dst);
void resolvecmd_ptr_start(struct session *s, struct socks5_addr *dst);
/* bindreply.c */
void bindreply_start(struct session *s, struct socks5_addr *dst);
void bindreply_first(struct session *s, const uint8_t *buf, size_t n);
void bindreply_io(struct session *s, unsigned events);
/* udpctl.c */
void udpctl_start(struct session *s, struct socks5_addr *dst);
void udpctl_io(struct session *s, unsigned events);

#endif
