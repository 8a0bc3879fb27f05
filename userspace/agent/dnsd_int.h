/* dnsd_int.h — the DNS responder's internal state, shared by dnsd*.c only. */
#ifndef S46_DNSD_INT_H
#define S46_DNSD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns.h"
#include "dnsd.h"
#include "ev.h"
#include "list.h"
#include "listener.h"

struct dnsd_tcp;

/* Where an answer goes: a UDP peer of one of our sockets, or a TCP connection. */
struct dnsd_client {
	int ufd;
	struct sockaddr_storage addr;
	socklen_t alen;
	struct dnsd_tcp *conn;
};

enum dnsd_pending_kind { DNSD_UP_UDP, DNSD_UP_TCP, DNSD_EXISTS };

/* A query waiting for the upstream resolver or the existence check. */
struct dnsd_pending {
	struct dnsd *d;
	struct list_head link; /* in the responder's pending */
	struct ev_timer timer;
	enum dnsd_pending_kind kind;
	struct dnsd_client client;
	struct dns_query q;
	int fd;
	uint16_t up_id;
	uint8_t *msg; /* the query, as sent upstream (TCP: with its length prefix) */
	size_t len, sent;
	uint8_t *rbuf; /* TCP upstream answer being read, with its prefix */
	size_t rlen;
};

struct dnsd_tcp {
	struct dnsd *d;
	struct list_head link; /* in the responder's conns */
	int fd;
	bool registered, eof;
	unsigned npending;	  /* queries of this client in flight */
	struct ev_timer deadline; /* for the next complete query */
	uint64_t since_ms;	  /* when that period started */
	uint8_t in[2 + DNS_TCP_MAX];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
};

struct dnsd {
	struct ev_loop *loop;
	struct dnsd_config cfg;
	struct fakeip *table;
	int udp4, udp6, tcp4, tcp6; /* tcp4 and tcp6 until they go to the listener */
	struct listener tcp;
	unsigned short port;
	struct dnsd_stats stats;
	struct list_head pending;
	unsigned npending;
	struct list_head conns;
	unsigned nconns;
	bool mark_warned;
	uint8_t buf[DNS_TCP_MAX];
};

/* dnsd.c: answering */
void dnsd_handle(struct dnsd *d, struct dnsd_client *c, const uint8_t *msg, size_t len);
void dnsd_reply(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q, unsigned rcode,
		const struct dns_rr *an, size_t nan);
void dnsd_answer_fake(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q);
void dnsd_send(struct dnsd_client *c, const uint8_t *msg, size_t len);
unsigned dnsd_ttl(const struct dnsd *d);

/* dnsd_literal.c: names answered here, never faked by name nor forwarded. Returns whether q
 * was one (and is answered). */
bool dnsd_literal_answer(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q);

/* dnsd_pending.c: queries waiting for the upstream resolver or the existence check */
int dnsd_pending_new(struct dnsd_pending **out, struct dnsd *d, enum dnsd_pending_kind kind,
		     const struct dnsd_client *c, const struct dns_query *q);
void dnsd_pending_free(struct dnsd_pending *p);

/* dnsd_upstream.c: forwarding to the real resolver */
void dnsd_upstream_forward(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q,
			   const uint8_t *msg, size_t len);

/* dnsd_tcp.c: TCP clients */
void dnsd_tcp_accepted(void *arg, int fd, const struct sockaddr *peer);
void dnsd_tcp_send(struct dnsd_tcp *c, const uint8_t *msg, size_t len);
void dnsd_tcp_update(struct dnsd_tcp *c);
void dnsd_tcp_abort(struct dnsd_tcp *c);

#endif
