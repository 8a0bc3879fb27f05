/* udp.c — UDP ASSOCIATE relay: client datagrams out to any family, replies wrapped back. */
#include "udp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "addr.h"
#include "gateway.h"
#include "log.h"
#include "netmon.h"
#include "rules.h"
#include "udpgso.h"

/* Room for the largest datagram plus the header that wraps a reply. */
#define UDP_BUF (65536 + SOCKS5_UDP_HEADER_MAX)
/* Datagrams read (recvmmsg) and sent (sendmmsg) per system call, and batches per callback,
 * so one busy association cannot starve the loop. */
#define UDP_BATCH 16
#define UDP_ROUNDS 4
/* Datagrams sent at once: a train (udpgso.h) or a sendmmsg; a received train (UDP_GRO) holds
 * up to UDPGSO_MAX_SEGS. */
#define UDP_OUT UDPGSO_MAX_SEGS
/* How long a name's resolution is reused for the datagrams that follow without asking the
 * resolver again (its cache keeps the TTL; this only spares a lookup per datagram). */
#define UDP_NAME_REUSE_MS 1000
/* Socket buffers: a burst of datagrams waits here while the loop serves others. */
#define UDP_SOCKBUF (4 << 20)

struct udp_pending;

struct udp_assoc {
	struct worker *w;
	int ctl_fd;	       /* the control connection, shut down when the association idles */
	int cfd;	       /* bound where the control connection arrived; talks to the client */
	int out4, out6;	       /* towards destinations, created on first use; -1 = none yet */
	union happy_sa client; /* the only source accepted; port 0 until the first datagram */
	union happy_sa ctl;    /* the control connection's peer, for the rules and the log */
	const char *user;
	uint64_t up, down, dropped;
	uint64_t start_ms, last_ms; /* last_ms: the last datagram relayed either way */
	struct ev_timer idle;
	bool idled;
	struct udp_pending *pending;
	unsigned npending;
	struct udp_name_reuse {
		char name[256];
		uint16_t port;
		union happy_sa dst;	    /* where it resolved, checked by the rules then */
		uint64_t until_ms;	    /* 0: nothing to reuse */
		const struct gw_snap *snap; /* the configuration those checks used */
	} last;
};

/* A datagram for a name, kept while the name resolves. */
struct udp_pending {
	struct udp_pending *next;
	struct udp_assoc *a;
	struct resolv_query *q;
	union happy_sa cand4, cand6; /* first usable address per family */
	uint16_t port;
	uint16_t len;
	char name[256];
	uint8_t data[];
};

/* One batch of buffers per worker thread: nothing per association is sized by datagrams.
 * Callbacks do not nest, so both directions share it. */
static __thread struct udp_batch {
	uint8_t buf[UDP_BATCH][UDP_BUF];
	struct sockaddr_storage from[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct mmsghdr msg[UDP_BATCH];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cmsg[UDP_BATCH]; /* the size of a train's datagrams (UDP_GRO) */
	/* Datagrams to send: on one socket, each with its destination. */
	struct mmsghdr out[UDP_OUT];
	struct iovec oiov[UDP_OUT];
	union happy_sa odst[UDP_OUT];
	unsigned nout;
	int ofd;
	struct udp_assoc *oa;
	bool batching;
} udp_batch;

static void udp_out_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

static int udp_socket(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	int buf = UDP_SOCKBUF;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The outbound socket for a family, created when a destination of that family first appears. */
static int udp_out_fd(struct udp_assoc *a, int family)
{
	int *slot = family == AF_INET6 ? &a->out6 : &a->out4;
	int fd, err;

	if (*slot >= 0)
		return *slot;
	fd = udp_socket(family, a->w->snap->conf.mark);
	if (fd < 0)
		return fd;
	err = ev_io_add(a->w->loop, fd, EV_READ, udp_out_cb, a);
	if (err < 0) {
		close(fd);
		return err;
	}
	*slot = fd;
	return fd;
}

/* Sends the batched datagrams: one sendmmsg, and past a datagram the socket refuses, the rest.
 * UDP semantics: a datagram that cannot be sent now is dropped, never queued. */
static void udp_flush(void)
{
	struct udp_batch *b = &udp_batch;
	unsigned n = b->nout, done = 0, i;
	socklen_t len = b->nout ? addr_sa_len(&b->odst[0].sa) : 0;
	int r;

	b->nout = 0;
	/* One train when they all go to one destination. */
	for (i = 1; i < n && !memcmp(&b->odst[i], &b->odst[0], len); i++)
		;
	if (i == n && udpgso_fits(b->oiov, n) &&
	    !udpgso_send(b->ofd, b->oiov, n, &b->odst[0].sa, len, NULL, 0)) {
		b->oa->up += n;
		return;
	}
	while (done < n) {
		r = sendmmsg(b->ofd, b->out + done, n - done, MSG_NOSIGNAL);
		if (r < 0) {
			b->oa->dropped++;
			done++;
			continue;
		}
		b->oa->up += (unsigned)r;
		done += (unsigned)r;
	}
}

static void udp_send_out(struct udp_assoc *a, const struct sockaddr *dst, const uint8_t *data,
			 size_t len)
{
	struct udp_batch *b = &udp_batch;
	int fd = udp_out_fd(a, dst->sa_family);

	if (fd < 0 ||
	    (!b->batching && sendto(fd, data, len, MSG_NOSIGNAL, dst, addr_sa_len(dst)) < 0)) {
		a->dropped++;
		return;
	}
	a->last_ms = ev_now(a->w->loop);
	if (!b->batching) {
		a->up++;
		return;
	}
	/* The payload stays in the receive batch until udp_flush. */
	if (b->nout && (b->ofd != fd || b->nout == UDP_OUT))
		udp_flush();
	b->ofd = fd;
	b->oa = a;
	memcpy(&b->odst[b->nout], dst, addr_sa_len(dst));
	b->oiov[b->nout] = (struct iovec){.iov_base = (void *)data, .iov_len = len};
	b->out[b->nout].msg_hdr = (struct msghdr){.msg_name = &b->odst[b->nout],
						  .msg_namelen = addr_sa_len(dst),
						  .msg_iov = &b->oiov[b->nout],
						  .msg_iovlen = 1};
	b->nout++;
}

static bool udp_same_ip(const struct sockaddr *x, const struct sockaddr *y)
{
	if (x->sa_family != y->sa_family)
		return false;
	if (x->sa_family == AF_INET)
		return ((const struct sockaddr_in *)x)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)y)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)x)->sin6_addr,
		       &((const struct sockaddr_in6 *)y)->sin6_addr, sizeof(struct in6_addr));
}

/* Only the client's own address; the first datagram fixes a port that was not known. */
static bool udp_from_client(struct udp_assoc *a, struct sockaddr_storage *from)
{
	addr_unmap(from);
	if (!udp_same_ip(&a->client.sa, (struct sockaddr *)from))
		return false;
	if (!addr_port(&a->client.sa)) {
		addr_set_port(&a->client.sa, addr_port((struct sockaddr *)from));
		return true;
	}
	return addr_port(&a->client.sa) == addr_port((struct sockaddr *)from);
}

/* rules, the destination policy, a usable family: 0 if dst may be sent to. */
static int udp_allowed(struct udp_assoc *a, const char *name, const struct sockaddr *dst)
{
	int ret =
	    rules_check_addr(a->w->snap->conf.rules, &a->ctl.sa, a->user, RULES_CMD_UDP, name, dst);
	enum destpolicy_why why;

	if (ret < 0)
		return -EACCES;
	why = destpolicy_check(&a->w->dpol, a->w->nm, dst, ret == 1);
	if (why) {
		destpolicy_log(why, &a->ctl.sa, RULES_CMD_UDP, name, dst);
		return -EACCES;
	}
	return netmon_has_route(a->w->nm, dst) ? 0 : -ENETUNREACH;
}

static void udp_pending_unlink(struct udp_pending *p)
{
	struct udp_assoc *a = p->a;
	struct udp_pending **pp = &a->pending;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	a->npending--;
	free(p);
}

/* Remembers where a name resolved (its checks passed), for the datagrams that follow. */
static void udp_name_keep(struct udp_assoc *a, const char *name, uint16_t port,
			  const union happy_sa *dst)
{
	snprintf(a->last.name, sizeof(a->last.name), "%s", name);
	a->last.port = port;
	a->last.dst = *dst;
	a->last.snap = a->w->snap;
	a->last.until_ms = ev_now(a->w->loop) + UDP_NAME_REUSE_MS;
}

/* The address the last datagram to name:port went to, while it may be reused, or NULL. */
static const struct sockaddr *udp_name_reuse(struct udp_assoc *a, const struct socks5_addr *dst)
{
	if (!a->last.until_ms || ev_now(a->w->loop) >= a->last.until_ms ||
	    a->last.snap != a->w->snap || a->last.port != dst->port ||
	    strcmp(a->last.name, dst->name))
		return NULL;
	return &a->last.dst.sa;
}

/* Sends (or, without an address, drops) the datagrams that waited for the answer p got, in the
 * order they came: p's own and its followers' (same name and port, no query of their own). */
static void udp_pending_settle(struct udp_pending *p, const union happy_sa *pick)
{
	struct udp_assoc *a = p->a;
	struct udp_pending *q = a->pending, *next;
	char name[sizeof(p->name)];
	uint16_t port = p->port;
	union happy_sa dst;

	/* p goes with the others: keep what it holds. */
	memcpy(name, p->name, sizeof(name));
	if (pick) {
		dst = *pick;
		udp_name_keep(a, name, port, &dst);
	}
	for (; q; q = next) {
		next = q->next;
		if (q->q || q->port != port || strcmp(q->name, name))
			continue;
		if (pick)
			udp_send_out(a, &dst.sa, q->data, q->len);
		else
			a->dropped++;
		udp_pending_unlink(q);
	}
}

static void udp_resolved(void *arg, int family, int err, const struct sockaddr_storage *addrs,
			 size_t n, int remaining)
{
	struct udp_pending *p = arg;
	struct udp_assoc *a = p->a;
	union happy_sa *slot = family == AF_INET6 ? &p->cand6 : &p->cand4;
	const union happy_sa *pick;

	for (size_t i = 0; i < n && !slot->sa.sa_family; i++) {
		union happy_sa c = {0};

		memcpy(&c, &addrs[i], addr_sa_len((const struct sockaddr *)&addrs[i]));
		addr_set_port(&c.sa, p->port);
		if (udp_allowed(a, p->name, &c.sa) == 0)
			*slot = c;
	}
	if (remaining)
		return;
	p->q = NULL;
	if (a->w->happy.prefer == AF_INET)
		pick = p->cand4.sa.sa_family ? &p->cand4 : &p->cand6;
	else
		pick = p->cand6.sa.sa_family ? &p->cand6 : &p->cand4;
	udp_pending_settle(p, pick->sa.sa_family ? pick : NULL);
}

/* The datagram whose lookup of name:port is under way, if any. */
static struct udp_pending *udp_pending_leader(struct udp_assoc *a, const struct socks5_addr *dst)
{
	struct udp_pending *p;

	for (p = a->pending; p; p = p->next)
		if (p->q && p->port == dst->port && !strcmp(p->name, dst->name))
			return p;
	return NULL;
}

static void udp_send_name(struct udp_assoc *a, const struct socks5_addr *dst, const uint8_t *data,
			  size_t len)
{
	const struct sockaddr *known = udp_name_reuse(a, dst);
	struct udp_pending *p, **tail;

	/* Datagrams still waiting for a name go first. */
	if (known && !a->pending) {
		udp_send_out(a, known, data, len);
		return;
	}
	if (a->npending >= UDP_MAX_PENDING || !(p = calloc(1, sizeof(*p) + len))) {
		a->dropped++;
		return;
	}
	p->a = a;
	p->port = dst->port;
	p->len = (uint16_t)len;
	memcpy(p->name, dst->name, sizeof(p->name));
	memcpy(p->data, data, len);
	for (tail = &a->pending; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	a->npending++;
	/* A datagram to a name being looked up waits for that answer. */
	if (udp_pending_leader(a, dst))
		return;
	/* The answer always comes from the loop later, cached or not. */
	p->q = resolv_lookup(a->w->res, p->name, udp_resolved, p);
	if (!p->q) {
		a->dropped++;
		udp_pending_unlink(p);
	}
}

/* One datagram from the client: check, unwrap, send on (resolving a name first). */
static void udp_from_client_datagram(struct udp_assoc *a, const uint8_t *buf, size_t len)
{
	struct socks5_udp_header h;
	struct sockaddr_storage ss;
	int hl = socks5_parse_udp_header(buf, len, &h);

	/* RFC 1928: fragments are optional; a relay that does not reassemble drops them. */
	if (hl <= 0 || h.frag != 0 || h.dst.port == 0) {
		a->dropped++;
		return;
	}
	socks5_addr_unliteral(&h.dst);
	if (rules_check_request(a->w->snap->conf.rules, &a->ctl.sa, a->user,
				SOCKS5_CMD_UDP_ASSOCIATE, &h.dst) < 0) {
		a->dropped++;
		return;
	}
	if (h.dst.atyp == SOCKS5_ATYP_DOMAINNAME) {
		if (destpolicy_numeric_name(h.dst.name)) {
			destpolicy_log(DESTPOLICY_NUMERIC_NAME, &a->ctl.sa, RULES_CMD_UDP,
				       h.dst.name, NULL);
			a->dropped++;
			return;
		}
		udp_send_name(a, &h.dst, buf + hl, len - (size_t)hl);
		return;
	}
	socks5_addr_to_sockaddr(&h.dst, &ss, NULL);
	if (udp_allowed(a, NULL, (struct sockaddr *)&ss) < 0) {
		a->dropped++;
		return;
	}
	udp_send_out(a, (struct sockaddr *)&ss, buf + hl, len - (size_t)hl);
}

/* Reads up to UDP_BATCH datagrams into the batch, each at offset off of its buffer. Returns how
 * many, 0 when none waits. A datagram longer than its buffer has msg_len past it (MSG_TRUNC). */
static int udp_recv_batch(int fd, size_t off)
{
	struct udp_batch *b = &udp_batch;
	int n;

	for (int i = 0; i < UDP_BATCH; i++) {
		b->iov[i] = (struct iovec){.iov_base = b->buf[i] + off, .iov_len = UDP_BUF - off};
		b->msg[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i],
						    .msg_namelen = sizeof(b->from[i]),
						    .msg_iov = &b->iov[i],
						    .msg_iovlen = 1,
						    .msg_control = b->cmsg[i].buf,
						    .msg_controllen = sizeof(b->cmsg[i].buf)};
	}
	n = recvmmsg(fd, b->msg, UDP_BATCH, MSG_TRUNC, NULL);
	return n < 0 ? 0 : n;
}

static void udp_client_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct udp_batch *b = &udp_batch;
	struct udp_assoc *a = arg;
	int n = UDP_BATCH;

	for (int round = 0; round < UDP_ROUNDS && n == UDP_BATCH; round++) {
		n = udp_recv_batch(fd, 0);
		b->batching = true;
		for (int i = 0; i < n; i++) {
			size_t len = b->msg[i].msg_len, seg = udpgso_segment(&b->msg[i].msg_hdr);

			if (len > UDP_BUF || !udp_from_client(a, &b->from[i])) {
				a->dropped++;
				continue;
			}
			/* A train from the agent (UDP_GRO): its datagrams one by one. */
			if (!seg || seg > len)
				seg = len;
			for (size_t off = 0; off < len; off += seg)
				udp_from_client_datagram(a, b->buf[i] + off,
							 len - off < seg ? len - off : seg);
		}
		udp_flush();
		b->batching = false;
	}
}

/* Wraps datagram i of the batch (its payload at SOCKS5_UDP_HEADER_MAX) in a header naming its
 * source, right before the payload, and makes it the next one to send. Returns 0 or -1. */
static int udp_wrap(struct udp_assoc *a, int i)
{
	struct udp_batch *b = &udp_batch;
	uint8_t *data = b->buf[i] + SOCKS5_UDP_HEADER_MAX, hdr[SOCKS5_UDP_HEADER_MAX];
	struct sockaddr *from = (struct sockaddr *)&b->from[i];
	size_t n = b->msg[i].msg_len;
	struct socks5_addr src;
	int hl;

	addr_unmap(&b->from[i]);
	if (n > UDP_BUF - SOCKS5_UDP_HEADER_MAX || socks5_addr_from_sockaddr(&src, from) < 0)
		return -1;
	src.port = addr_port(from);
	hl = socks5_build_udp_header(hdr, 0, &src);
	if (hl < 0 || hl > SOCKS5_UDP_HEADER_MAX)
		return -1;
	memcpy(data - hl, hdr, (size_t)hl);
	b->oiov[b->nout] = (struct iovec){.iov_base = data - hl, .iov_len = n + (size_t)hl};
	b->out[b->nout].msg_hdr = (struct msghdr){.msg_name = &a->client.sa,
						  .msg_namelen = addr_sa_len(&a->client.sa),
						  .msg_iov = &b->oiov[b->nout],
						  .msg_iovlen = 1};
	b->nout++;
	return 0;
}

/* Replies from destinations: wrapped in a header naming their source, sent to the client. */
static void udp_out_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct udp_batch *b = &udp_batch;
	struct udp_assoc *a = arg;
	unsigned done;
	int n = UDP_BATCH, r;

	for (int round = 0; round < UDP_ROUNDS && n == UDP_BATCH; round++) {
		n = udp_recv_batch(fd, SOCKS5_UDP_HEADER_MAX);
		b->nout = 0;
		for (int i = 0; i < n; i++)
			if (!addr_port(&a->client.sa) || udp_wrap(a, i)) {
				a->dropped++;
			}
		/* All go to the client: one train when they make one. */
		if (udpgso_fits(b->oiov, b->nout) &&
		    !udpgso_send(a->cfd, b->oiov, b->nout, &a->client.sa,
				 addr_sa_len(&a->client.sa), NULL, 0)) {
			a->down += b->nout;
			b->nout = 0;
		}
		for (done = 0; done < b->nout; done += r) {
			r = sendmmsg(a->cfd, b->out + done, b->nout - done, MSG_NOSIGNAL);
			if (r <= 0) {
				a->dropped++;
				r = 1;
				continue;
			}
			a->down += (unsigned)r;
		}
		b->nout = 0;
		if (n)
			a->last_ms = ev_now(loop);
	}
}

/* The address the client sends from: the request's, or the control connection's IP. */
static void udp_expect_client(struct udp_assoc *a, const struct sockaddr *client,
			      const struct socks5_addr *want)
{
	struct sockaddr_storage ss;

	memcpy(&a->client, client, addr_sa_len(client));
	addr_set_port(&a->client.sa, 0);
	if (socks5_addr_to_sockaddr(want, &ss, NULL) < 0)
		return;
	addr_unmap(&ss);
	if (ss.ss_family == AF_INET
		? ((struct sockaddr_in *)&ss)->sin_addr.s_addr != 0
		: !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
		memcpy(&a->client, &ss, addr_sa_len((struct sockaddr *)&ss));
	addr_set_port(&a->client.sa, want->port);
}

static int udp_bind_client(struct udp_assoc *a, const struct sockaddr *ctl_local,
			   struct sockaddr_storage *bnd)
{
	union happy_sa local = {0};
	socklen_t blen = sizeof(*bnd);
	const struct sockaddr_storage *pub = &a->w->snap->conf.udp_public;

	memcpy(&local, ctl_local, addr_sa_len(ctl_local));
	addr_set_port(&local.sa, 0);
	a->cfd = udp_socket(local.sa.sa_family, 0);
	if (a->cfd < 0)
		return a->cfd;
	/* Trains from a local agent arrive whole (udpgso.h). */
	udpgso_want_gro(a->cfd);
	if (bind(a->cfd, &local.sa, addr_sa_len(&local.sa)) < 0 ||
	    getsockname(a->cfd, (struct sockaddr *)bnd, &blen) < 0)
		return -errno;
	if (pub->ss_family) {
		uint16_t port = addr_port((struct sockaddr *)bnd);

		memcpy(bnd, pub, sizeof(*bnd));
		addr_set_port((struct sockaddr *)bnd, port);
	}
	return ev_io_add(a->w->loop, a->cfd, EV_READ, udp_client_cb, a);
}

/* How long an association may go without a datagram; 0 = forever. */
static uint64_t udp_idle_ms(const struct gwconf *c)
{
	unsigned s = c->udp_idle_timeout_s;

	return (uint64_t)(s == GWCONF_UDP_IDLE_DEFAULT ? c->idle_timeout_s : s) * 1000;
}

/* The timer runs out at most once per idle period: datagrams only move last_ms. */
static void udp_idle_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct udp_assoc *a = container_of(t, struct udp_assoc, idle);
	uint64_t limit = udp_idle_ms(&a->w->snap->conf), now = ev_now(loop);

	if (!limit)
		return;
	if (now - a->last_ms < limit) {
		ev_timer_start(loop, t, a->last_ms + limit - now);
		return;
	}
	a->idled = true;
	shutdown(a->ctl_fd, SHUT_RDWR);
}

int udp_assoc_new(struct udp_assoc **out, struct worker *w, int ctl_fd,
		  const struct sockaddr *ctl_local, const struct sockaddr *client,
		  const struct socks5_addr *want, const char *user, struct sockaddr_storage *bnd)
{
	struct udp_assoc *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	a->w = w;
	a->cfd = a->out4 = a->out6 = -1;
	a->user = user;
	a->ctl_fd = ctl_fd;
	a->start_ms = a->last_ms = ev_now(w->loop);
	ev_timer_init(&a->idle, udp_idle_cb);
	memcpy(&a->ctl, client, addr_sa_len(client));
	udp_expect_client(a, client, want);
	err = udp_bind_client(a, ctl_local, bnd);
	if (err < 0) {
		if (a->cfd >= 0)
			close(a->cfd);
		free(a);
		return err;
	}
	if (udp_idle_ms(&w->snap->conf))
		ev_timer_start(w->loop, &a->idle, udp_idle_ms(&w->snap->conf));
	*out = a;
	return 0;
}

static void udp_close(struct udp_assoc *a, int fd)
{
	if (fd < 0)
		return;
	ev_io_del(a->w->loop, fd);
	close(fd);
}

void udp_assoc_free(struct udp_assoc *a)
{
	char client[ADDR_STRLEN];

	if (!a)
		return;
	while (a->pending) {
		resolv_cancel(a->pending->q);
		udp_pending_unlink(a->pending);
	}
	ev_timer_stop(a->w->loop, &a->idle);
	udp_close(a, a->cfd);
	udp_close(a, a->out4);
	udp_close(a, a->out6);
	log_info("udp client=%s datagrams up=%llu down=%llu dropped=%llu ms=%llu%s",
		 addr_format(&a->client.sa, client, sizeof(client)), (unsigned long long)a->up,
		 (unsigned long long)a->down, (unsigned long long)a->dropped,
		 (unsigned long long)(ev_now(a->w->loop) - a->start_ms),
		 a->idled ? " idle-timeout" : "");
	free(a);
}
