/* udpfwd.c — carries the steered UDP of attached cgroups through the gateway (UDP ASSOCIATE).
 *
 * Design. sendmsg4/6 (and connect4/6 for connected sockets) rewrite a datagram to a fake,
 * NAT64 or policy destination to a slot address at port S46_UDP_PORT_DEFAULT, where the slot
 * (one of s46_udp_dst) holds the original destination: 127.70.H.L for IPv4 and v4-mapped
 * destinations, S46_UDP_NET6::H:L for IPv6 ones (IPv6 has only ::1 on loopback, so that ULA
 * /112 is routed locally on lo by udproute.c, and replies from it need IPV6_FREEBIND: IPv6
 * checks a source against assigned addresses, not local routes). One wildcard socket per
 * family receives them all; the packet info gives the slot address, so each datagram names
 * its own destination: a map keyed by the program's address, written at send time, would
 * hold only the last destination of a socket sending to several, and datagrams still queued
 * would go to the wrong one. Kernel 6.1 offers the alternative of socket-lookup programs
 * with a local route for the pools, but that needs a per-namespace attachment, and a local
 * route cannot cover --via-gateway prefixes (0.0.0.0/0 would swallow every address); the
 * slot addresses are never real destinations. Only datagrams that arrived on lo are taken:
 * the IPv6 slot route would otherwise let hosts on the network use the forwarder.
 *
 * A flow is one program socket (its address as seen here) and one destination slot, with its
 * own association: the gateway's reply header names the resolved address, not the name that
 * was asked, so one association per destination is what tells replies apart without
 * guessing; toward each server the program's flow keeps one source port. Replies are sent
 * from the slot address, so a connected socket accepts them and recvmsg4/6 rewrite their
 * source back to the original destination. Flows end when the program's socket is released
 * (cgroup/sock_release tells the agent through a ring buffer: udpfwd_sock_released), after
 * UDPFWD_IDLE_MS without datagrams, or when the gateway closes the control connection. The
 * release names the socket by its cookie (sock_release may read no address or port of it),
 * which a datagram does not carry: a new flow asks sock_diag for the cookie of the socket
 * its first datagram came from, in the forwarder's namespace (one netlink round trip per
 * flow, none per datagram). A datagram read after its socket closed finds none: its flow
 * sends what it has and ends, so a later socket on the same port never gets its replies. A
 * slot is reused after 65,536 other destinations; a flow whose slot now
 * holds another destination is ended and a new one made.
 */
#include "udpfwd.h"
#include "udproute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bpfload.h"
#include "ev.h"
#include "fakeip.h"
#include "list.h"
#include "log.h"
#include "origdst.h"
#include "prefix.h"
#include "redirect.h"
#include "s5client.h"
#include "sockdiag.h"
#include "udpgso.h"
#include "socks5.h"
#include "srv.h"
#include "srvlist.h"
#include "target.h"

#define UDPFWD_BUF (65536 + SOCKS5_UDP_HEADER_MAX)
#define UDPFWD_BUCKETS 1024
/* Datagrams read (recvmmsg) and sent (sendmmsg) per system call, and batches per callback. */
#define UDPFWD_BATCH 16
#define UDPFWD_ROUNDS 4
/* Datagrams sent at once: a train (udpgso.h) or a sendmmsg. A received train (UDP_GRO) holds
 * up to UDPGSO_MAX_SEGS. */
#define UDPFWD_OUT UDPGSO_MAX_SEGS
/* Socket buffers: bursts wait here while the loop serves the other direction (the wildcard
 * sockets take every flow's datagrams, a relay socket one flow's). */
#define UDPFWD_SOCKBUF (4 << 20)
#define UDPFWD_RELAYBUF (4 << 20)

enum udpfwd_state { UF_DIALING, UF_READY };

union udpfwd_sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct udpfwd_dgram {
	struct udpfwd_dgram *next;
	size_t len;
	uint8_t data[];
};

struct udpfwd_flow {
	struct udpfwd *u;
	union udpfwd_sa prog; /* the program's socket, as its datagrams arrive */
	uint32_t slot;
	struct s46_dst dst;
	struct sockaddr_storage origsa;
	struct socks5_addr target;
	char target_str[300];
	int fake_af; /* 0: not a fake address, nothing held */
	uint8_t fake_addr[16];
	int ctl, rfd; /* control connection and the socket toward the relay, -1 = none */
	enum udpfwd_state state;
	bool closing;	 /* its socket was released: ends once its queue went out */
	uint64_t cookie; /* of the program's socket, 0 when not known */
	struct s5client *cl;
	struct srvlist_iter via;
	struct srv *gw;
	struct udpfwd_dgram *queue, **qtail;
	unsigned nqueue;
	uint64_t up, down, dropped, start_ms, last_ms;
	struct ev_timer timer;
	struct list_head link;	/* in the forwarder's flows */
	struct list_head hlink; /* in its bucket of by_key */
};

struct udpfwd {
	struct ev_loop *loop;
	struct redirect_config cfg;
	struct bpfload *bpf;
	struct fakeip *table;
	const struct fakeip_config *fcfg;
	int fd, fd6; /* IPv4 and IPv6 (-1 without the IPv6 slot route) */
	unsigned lo; /* ifindex of lo, where programs' datagrams arrive */
	uint16_t port;
	struct udpfwd_stats stats;
	struct list_head flows;
	unsigned nflows;
	size_t queued;		   /* bytes of the datagrams waiting for associations */
	struct sockdiag_udp *diag; /* in the forwarder's namespace; NULL: flows have no cookie */
	struct list_head by_key[UDPFWD_BUCKETS]; /* flows by program address and slot */
};

union udpfwd_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* One batch of buffers for every datagram: the loop is single-threaded and callbacks do not
 * nest. Payloads are read at SOCKS5_UDP_HEADER_MAX, so a header fits in front of them. */
static struct udpfwd_batch {
	uint8_t buf[UDPFWD_BATCH][UDPFWD_BUF];
	union udpfwd_sa from[UDPFWD_BATCH];
	union udpfwd_cmsg cmsg[UDPFWD_BATCH];
	struct iovec iov[UDPFWD_BATCH];
	struct mmsghdr msg[UDPFWD_BATCH];
	/* Datagrams going out: up, all of one flow (of), or down to one program. */
	struct udpfwd_flow *of;
	struct iovec oiov[UDPFWD_OUT];
	struct mmsghdr out[UDPFWD_OUT];
	unsigned nout;
} udpfwd_batch;

static void udpfwd_next_gateway(struct udpfwd_flow *f);

/* The IPv6 slot address of slot n. */
static void udpfwd_addr6(struct in6_addr *a, uint32_t n)
{
	uint32_t w[4] = {htonl(S46_UDP_NET6_0), htonl(S46_UDP_NET6_1), htonl(S46_UDP_NET6_2),
			 htonl(S46_UDP_NET6_3 | n)};

	memcpy(a, w, sizeof(w));
}

/* The slot a local address a datagram arrived at stands for, or -1. */
static int udpfwd_slot_of(const union udpfwd_sa *to)
{
	struct in6_addr net;
	uint32_t h;

	if (to->sa.sa_family == AF_INET) {
		h = ntohl(to->in.sin_addr.s_addr);
		return (h & 0xffff0000) == S46_UDP_NET ? (int)(h & 0xffff) : -1;
	}
	udpfwd_addr6(&net, 0);
	if (to->sa.sa_family != AF_INET6 || memcmp(&net, &to->in6.sin6_addr, 14))
		return -1;
	return to->in6.sin6_addr.s6_addr[14] << 8 | to->in6.sin6_addr.s6_addr[15];
}

static void udpfwd_flush(void);

static void udpfwd_flow_free(struct udpfwd_flow *f)
{
	struct udpfwd *u = f->u;
	struct udpfwd_dgram *d;

	if (udpfwd_batch.of == f)
		udpfwd_flush();
	ev_timer_stop(u->loop, &f->timer);
	s5client_cancel(f->cl);
	if (f->ctl >= 0) {
		ev_io_del(u->loop, f->ctl);
		close(f->ctl);
	}
	if (f->rfd >= 0) {
		ev_io_del(u->loop, f->rfd);
		close(f->rfd);
	}
	while ((d = f->queue)) {
		f->queue = d->next;
		u->stats.dropped++;
		u->queued -= d->len;
		free(d);
	}
	if (f->fake_af)
		fakeip_release(u->table, f->fake_af, f->fake_addr, (uint64_t)time(NULL));
	if (f->state == UF_READY)
		srv_conn_end(f->gw);
	srvlist_iter_end(&f->via);
	list_del(&f->link);
	list_del(&f->hlink);
	u->nflows--;
	free(f);
}

/* Wraps one datagram in the SOCKS5 UDP header and sends it to the relay. */
static void udpfwd_up(struct udpfwd_flow *f, const uint8_t *data, size_t len)
{
	static uint8_t out[UDPFWD_BUF];
	int hl = socks5_build_udp_header(out, 0, &f->target);

	if (hl >= 0 && len <= sizeof(out) - (size_t)hl) {
		memcpy(out + hl, data, len);
		if (send(f->rfd, out, (size_t)hl + len, 0) < 0)
			hl = -errno;
	}
	if (hl < 0 || len > sizeof(out) - (size_t)hl) {
		f->dropped++;
		f->u->stats.dropped++;
		return;
	}
	f->up++;
	f->u->stats.up++;
	f->last_ms = ev_now(f->u->loop);
}

/* Sends the datagrams batched for one flow: one sendmmsg, and past one the socket refuses, the
 * rest (UDP: what cannot be sent now is dropped). */
/* Sends the b->nout datagrams of b->oiov on fd (to dst, or the connected peer with dst NULL,
 * with the control messages c): one train when they make one, else sendmmsg, and past a
 * datagram the socket refuses, the rest (UDP: what cannot be sent now is dropped). Returns
 * how many went. */
static unsigned udpfwd_send_out(int fd, const struct sockaddr *dst, socklen_t dstlen, void *c,
				size_t clen)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	unsigned n = b->nout, sent = 0, done = 0;
	int r;

	b->nout = 0;
	if (udpgso_fits(b->oiov, n) && !udpgso_send(fd, b->oiov, n, dst, dstlen, c, clen))
		return n;
	for (unsigned i = 0; i < n; i++)
		b->out[i].msg_hdr = (struct msghdr){.msg_name = (void *)dst,
						    .msg_namelen = dst ? dstlen : 0,
						    .msg_iov = &b->oiov[i],
						    .msg_iovlen = 1,
						    .msg_control = c,
						    .msg_controllen = clen};
	while (done < n) {
		r = sendmmsg(fd, b->out + done, n - done, 0);
		if (r <= 0) {
			done++;
			continue;
		}
		sent += (unsigned)r;
		done += (unsigned)r;
	}
	return sent;
}

/* Sends the datagrams batched for one flow up to its relay. */
static void udpfwd_flush(void)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	struct udpfwd_flow *f = b->of;
	unsigned n = b->nout, sent;

	b->of = NULL;
	if (!f || !n) {
		b->nout = 0;
		return;
	}
	sent = udpfwd_send_out(f->rfd, NULL, 0, NULL, 0);
	f->up += sent;
	f->u->stats.up += sent;
	f->dropped += n - sent;
	f->u->stats.dropped += n - sent;
}

/* Wraps a datagram of the batch (data, with room for a header before it) and adds it to the
 * flow's sendmmsg. */
static void udpfwd_up_batched(struct udpfwd_flow *f, uint8_t *data, size_t len)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	uint8_t hdr[SOCKS5_UDP_HEADER_MAX];
	int hl = socks5_build_udp_header(hdr, 0, &f->target);

	if (hl < 0 || hl > SOCKS5_UDP_HEADER_MAX) {
		f->dropped++;
		f->u->stats.dropped++;
		return;
	}
	if (b->of != f || b->nout == UDPFWD_OUT)
		udpfwd_flush();
	memcpy(data - hl, hdr, (size_t)hl);
	b->of = f;
	b->oiov[b->nout++] = (struct iovec){.iov_base = data - hl, .iov_len = len + (size_t)hl};
	f->last_ms = ev_now(f->u->loop);
}

static void udpfwd_enqueue(struct udpfwd_flow *f, const uint8_t *data, size_t len)
{
	struct udpfwd_dgram *d;

	if (f->nqueue >= UDPFWD_QUEUE_MAX || f->u->queued + len > UDPFWD_QUEUE_BYTES ||
	    !(d = malloc(sizeof(*d) + len))) {
		f->dropped++;
		f->u->stats.dropped++;
		return;
	}
	d->next = NULL;
	d->len = len;
	memcpy(d->data, data, len);
	*f->qtail = d;
	f->qtail = &d->next;
	f->nqueue++;
	f->u->queued += len;
}

/* The packet info that makes a datagram to the program leave from the flow's slot address. */
static socklen_t udpfwd_slot_cmsg(const struct udpfwd_flow *f, union udpfwd_cmsg *c)
{
	struct msghdr msg = {.msg_control = c->buf, .msg_controllen = sizeof(c->buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	struct in6_pktinfo pi6 = {0};
	struct in_pktinfo pi = {0};

	memset(c, 0, sizeof(*c));
	if (f->prog.sa.sa_family == AF_INET6) {
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi6));
		udpfwd_addr6(&pi6.ipi6_addr, f->slot);
		memcpy(CMSG_DATA(cm), &pi6, sizeof(pi6));
		return CMSG_SPACE(sizeof(pi6));
	}
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	pi.ipi_spec_dst.s_addr = htonl(S46_UDP_NET | f->slot);
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	return CMSG_SPACE(sizeof(pi));
}

/* Reads up to UDPFWD_BATCH datagrams (or trains) from fd into the batch (at
 * SOCKS5_UDP_HEADER_MAX), with their sources and, with cmsg, their control messages (packet
 * info, the train's datagram size). Returns how many (0: none waits). */
static int udpfwd_recv_batch(int fd, bool cmsg)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	int n;

	for (int i = 0; i < UDPFWD_BATCH; i++) {
		b->iov[i] = (struct iovec){.iov_base = b->buf[i] + SOCKS5_UDP_HEADER_MAX,
					   .iov_len = UDPFWD_BUF - SOCKS5_UDP_HEADER_MAX};
		b->msg[i].msg_hdr = (struct msghdr){
		    .msg_name = &b->from[i],
		    .msg_namelen = sizeof(b->from[i]),
		    .msg_iov = &b->iov[i],
		    .msg_iovlen = 1,
		    .msg_control = cmsg ? b->cmsg[i].buf : NULL,
		    .msg_controllen = cmsg ? sizeof(b->cmsg[i].buf) : 0,
		};
	}
	n = recvmmsg(fd, b->msg, UDPFWD_BATCH, 0, NULL);
	return n < 0 ? 0 : n;
}

/* Sends the replies batched for a flow's program, from the slot's address. */
static void udpfwd_down_flush(struct udpfwd_flow *f)
{
	struct udpfwd *u = f->u;
	union udpfwd_cmsg c;
	socklen_t clen = udpfwd_slot_cmsg(f, &c);
	unsigned n = udpfwd_batch.nout, sent;
	bool v6 = f->prog.sa.sa_family == AF_INET6;

	if (!n)
		return;
	sent = udpfwd_send_out(v6 ? u->fd6 : u->fd, &f->prog.sa,
			       v6 ? sizeof(f->prog.in6) : sizeof(f->prog.in), c.buf, clen);
	f->down += sent;
	u->stats.down += sent;
	f->dropped += n - sent;
	u->stats.dropped += n - sent;
	f->last_ms = ev_now(u->loop);
}

/* One reply (a datagram of a received train): unwrapped, batched for the program. */
static void udpfwd_down_one(struct udpfwd_flow *f, uint8_t *p, size_t len)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	struct socks5_udp_header h;
	int hl = socks5_parse_udp_header(p, len, &h);

	if (hl <= 0 || h.frag) {
		f->dropped++;
		f->u->stats.dropped++;
		return;
	}
	if (b->nout == UDPFWD_OUT)
		udpfwd_down_flush(f);
	b->oiov[b->nout++] = (struct iovec){.iov_base = p + hl, .iov_len = len - (size_t)hl};
}

/* Replies from the relay (trains too: the relay socket takes them whole, UDP_GRO), unwrapped
 * and sent to the program from the slot's address. */
static void udpfwd_relay_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	struct udpfwd_flow *f = arg;
	int n = UDPFWD_BATCH;

	(void)loop;
	(void)events;
	for (int round = 0; round < UDPFWD_ROUNDS && n == UDPFWD_BATCH; round++) {
		n = udpfwd_recv_batch(fd, true);
		b->nout = 0;
		for (int i = 0; i < n; i++) {
			uint8_t *p = b->buf[i] + SOCKS5_UDP_HEADER_MAX;
			size_t len = b->msg[i].msg_len, seg = udpgso_segment(&b->msg[i].msg_hdr);

			if (!seg || seg > len)
				seg = len;
			for (size_t off = 0; off < len; off += seg)
				udpfwd_down_one(f, p + off, len - off < seg ? len - off : seg);
		}
		udpfwd_down_flush(f);
	}
}

/* The gateway closed the control connection (or it failed): the association is over. */
static void udpfwd_ctl_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct udpfwd_flow *f = arg;
	char c;

	(void)loop;
	(void)events;
	if (recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN)
		return;
	log_debug("%s via %s: association ended by the gateway", f->target_str, f->gw->name);
	udpfwd_flow_free(f);
}

/* Room for bursts: past net.core.rmem_max/wmem_max with CAP_NET_ADMIN (the agent has it). */
static void udpfwd_sockbuf(int fd, int buf)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
}

/* The relay's address: BND, or the gateway's when BND is unspecified. */
static int udpfwd_relay_addr(struct udpfwd_flow *f, const struct socks5_addr *bnd,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	uint8_t a[16];
	int af, err = socks5_addr_to_sockaddr(bnd, ss, len);

	if (err)
		return err;
	af = prefix_sa_bytes((struct sockaddr *)ss, a);
	if (af && !memcmp(a, (const uint8_t[16]){0}, af == AF_INET ? 4 : 16)) {
		*len = sizeof(*ss);
		if (getpeername(f->ctl, (struct sockaddr *)ss, len) < 0)
			return -errno;
		addr_set_port((struct sockaddr *)ss, bnd->port);
	}
	return 0;
}

static int udpfwd_open_relay(struct udpfwd_flow *f, const struct socks5_addr *bnd)
{
	struct udpfwd *u = f->u;
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t mark = u->cfg.mark;
	int err = udpfwd_relay_addr(f, bnd, &ss, &len);

	if (err)
		return err;
	f->rfd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->rfd < 0)
		return -errno;
	udpfwd_sockbuf(f->rfd, UDPFWD_RELAYBUF);
	udpgso_want_gro(f->rfd);
	if ((mark && setsockopt(f->rfd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) ||
	    connect(f->rfd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	err = ev_io_add(u->loop, f->rfd, EV_READ, udpfwd_relay_cb, f);
	if (!err)
		err = ev_io_add(u->loop, f->ctl, EV_READ, udpfwd_ctl_cb, f);
	return err;
}

static void udpfwd_idle(struct ev_loop *loop, struct ev_timer *t)
{
	struct udpfwd_flow *f = container_of(t, struct udpfwd_flow, timer);
	uint64_t now = ev_now(loop);

	if (f->state == UF_DIALING) {
		log_info("%s via %s: no UDP ASSOCIATE reply in time", f->target_str, f->gw->name);
		srv_report(f->gw, false, now, 1, REDIRECT_GW_BACKOFF_MS);
		s5client_cancel(f->cl);
		f->cl = NULL;
		close(f->ctl);
		f->ctl = -1;
		udpfwd_next_gateway(f);
		return;
	}
	if (now - f->last_ms >= UDPFWD_IDLE_MS) {
		log_debug("%s: UDP flow idle, ended", f->target_str);
		udpfwd_flow_free(f);
		return;
	}
	ev_timer_start(loop, t, UDPFWD_IDLE_MS - (now - f->last_ms));
}

static void udpfwd_ready(struct udpfwd_flow *f, const struct socks5_addr *bnd)
{
	struct udpfwd *u = f->u;
	struct udpfwd_dgram *d;
	int err = udpfwd_open_relay(f, bnd);

	if (err) {
		log_warnx("%s via %s: relay: %s", f->target_str, f->gw->name, strerror(-err));
		u->stats.refused++;
		udpfwd_flow_free(f);
		return;
	}
	srv_report(f->gw, true, ev_now(u->loop), 1, REDIRECT_GW_BACKOFF_MS);
	srv_conn_begin(f->gw);
	f->state = UF_READY;
	f->last_ms = ev_now(u->loop);
	while ((d = f->queue)) {
		f->queue = d->next;
		udpfwd_up(f, d->data, d->len);
		u->queued -= d->len;
		free(d);
	}
	f->qtail = &f->queue;
	f->nqueue = 0;
	if (f->closing) {
		u->stats.closed++;
		udpfwd_flow_free(f);
		return;
	}
	ev_timer_start(u->loop, &f->timer, UDPFWD_IDLE_MS);
}

static void udpfwd_reply(void *arg, int err, uint8_t rep, const struct socks5_addr *bnd, bool final)
{
	struct udpfwd_flow *f = arg;
	struct udpfwd *u = f->u;

	(void) final;
	f->cl = NULL;
	ev_timer_stop(u->loop, &f->timer);
	if (err) {
		log_info("gateway %s skipped for UDP to %s: %s", f->gw->name, f->target_str,
			 strerror(err));
		srv_report(f->gw, false, ev_now(u->loop), 1, REDIRECT_GW_BACKOFF_MS);
		close(f->ctl);
		f->ctl = -1;
		udpfwd_next_gateway(f);
	} else if (rep != SOCKS5_REP_SUCCEEDED) {
		log_info("UDP to %s via %s: %s", f->target_str, f->gw->name, socks5_rep_str(rep));
		u->stats.refused++;
		udpfwd_flow_free(f);
	} else {
		udpfwd_ready(f, bnd);
	}
}

static void udpfwd_next_gateway(struct udpfwd_flow *f)
{
	struct udpfwd *u = f->u;
	/* The address the program's datagrams will come from is not known to the gateway:
	 * all zeros, the wildcard (RFC 1928 §7). */
	struct socks5_addr any = {.atyp = SOCKS5_ATYP_IPV4};
	int fd;

	while ((f->gw = srvlist_next(&f->via, ev_now(u->loop)))) {
		fd = srv_dial(f->gw, u->loop, u->cfg.mark, SOCKS5_CMD_UDP_ASSOCIATE, &any,
			      udpfwd_reply, f, &f->cl);
		if (fd >= 0) {
			f->ctl = fd;
			f->state = UF_DIALING;
			ev_timer_start(u->loop, &f->timer, u->cfg.reply_ms);
			return;
		}
		srv_report(f->gw, false, ev_now(u->loop), 1, REDIRECT_GW_BACKOFF_MS);
		log_info("gateway %s skipped: %s", f->gw->name, strerror(-fd));
	}
	log_warnx("UDP to %s: no gateway answered", f->target_str);
	u->stats.refused++;
	udpfwd_flow_free(f);
}

/* What the gateway is asked for; a fake address is held while the flow lives. */
static int udpfwd_target(struct udpfwd_flow *f)
{
	struct udpfwd *u = f->u;
	const struct sockaddr *sa = (const struct sockaddr *)&f->origsa;
	uint8_t a[16];
	bool fake;
	int err = target_of(&u->cfg.target, u->table, u->fcfg, sa, &f->target, &fake);
	int af;

	if (err)
		return err;
	af = prefix_sa_bytes(sa, a);
	if (fake && !fakeip_hold(u->table, af, a, (uint64_t)time(NULL))) {
		f->fake_af = af;
		memcpy(f->fake_addr, a, af == AF_INET ? 4 : 16);
	}
	socks5_addr_format(&f->target, f->target_str, sizeof(f->target_str));
	return 0;
}

/* The bucket of a program address (its port and last address word) and slot. */
static unsigned udpfwd_bucket(const union udpfwd_sa *prog, uint32_t slot)
{
	uint32_t h = slot * 2654435761u;

	if (prog->sa.sa_family == AF_INET6)
		h ^= prog->in6.sin6_port ^ prog->in6.sin6_addr.s6_addr32[3];
	else
		h ^= prog->in.sin_port ^ prog->in.sin_addr.s_addr;
	h *= 2246822519u;
	return (h >> 16) % UDPFWD_BUCKETS;
}

/* What the hash policy keys on: the destination's name, or its address. */
static const char *udpfwd_site(const struct udpfwd_flow *f, char *buf, size_t len)
{
	const struct socks5_addr *t = &f->target;

	if (t->atyp == SOCKS5_ATYP_DOMAINNAME)
		return t->name;
	return inet_ntop(t->atyp == SOCKS5_ATYP_IPV4 ? AF_INET : AF_INET6, &t->v4, buf,
			 (socklen_t)len);
}

/* The cookie of the program's socket, asked of sock_diag (in the forwarder's namespace) with
 * the addresses of its first datagram. A socket already gone (it sent and closed before the
 * datagram was read) leaves the flow closing: its queue goes out, then it ends. */
static void udpfwd_flow_cookie(struct udpfwd_flow *f, const union udpfwd_sa *to)
{
	union udpfwd_sa local = *to;
	int err;

	if (!f->u->diag)
		return;
	addr_set_port(&local.sa, f->u->port);
	err = sockdiag_udp_cookie(f->u->diag, &f->prog.sa, &local.sa, &f->cookie);
	if (err == -ENOENT)
		f->closing = true;
	else if (err)
		log_debug("UDP: the cookie of a program socket: %s", strerror(-err));
}

static struct udpfwd_flow *udpfwd_flow_new(struct udpfwd *u, const union udpfwd_sa *prog,
					   const union udpfwd_sa *to, uint32_t slot,
					   const struct s46_dst *dst)
{
	struct udpfwd_flow *f = calloc(1, sizeof(*f));
	socklen_t len;
	char buf[ADDR_STRLEN];
	int err;

	if (!f)
		return NULL;
	f->u = u;
	f->prog = *prog;
	f->slot = slot;
	f->dst = *dst;
	f->ctl = f->rfd = -1;
	f->qtail = &f->queue;
	f->start_ms = f->last_ms = ev_now(u->loop);
	ev_timer_init(&f->timer, udpfwd_idle);
	list_add(&f->link, &u->flows);
	list_add(&f->hlink, &u->by_key[udpfwd_bucket(prog, slot)]);
	u->nflows++;
	origdst_sockaddr(dst, &f->origsa, &len);
	err = udpfwd_target(f);
	if (err) {
		log_warnx("UDP to %s: %s",
			  addr_format((struct sockaddr *)&f->origsa, buf, sizeof(buf)),
			  err == -ENOENT ? "no name behind that address" : strerror(-err));
		u->stats.no_name++;
		udpfwd_flow_free(f);
		return NULL;
	}
	/* The hash policy keeps a destination on one gateway, as for TCP. */
	srvlist_iter_start_key(&f->via, u->cfg.servers, udpfwd_site(f, buf, sizeof(buf)),
			       ev_now(u->loop));
	u->stats.flows++;
	udpfwd_flow_cookie(f, to);
	return f;
}

static struct udpfwd_flow *udpfwd_find(struct udpfwd *u, const union udpfwd_sa *prog, uint32_t slot)
{
	struct udpfwd_flow *f;

	list_for_each_entry(f, &u->by_key[udpfwd_bucket(prog, slot)], hlink)
	{
		if (f->slot == slot && addr_equal(&f->prog.sa, &prog->sa))
			return f;
	}
	return NULL;
}

/* One datagram from a program: its flow (new, or a new one when the slot now holds another
 * destination), then up to the relay or into the queue. */
static void udpfwd_from_program(struct udpfwd *u, const union udpfwd_sa *prog,
				const union udpfwd_sa *to, uint8_t *data, size_t len)
{
	int slot = udpfwd_slot_of(to);
	struct udpfwd_flow *f;
	struct s46_dst d;

	if (slot < 0 || !u->bpf || bpfload_udp_dst(u->bpf, (uint32_t)slot, &d)) {
		u->stats.no_origdst++;
		u->stats.dropped++;
		return;
	}
	f = udpfwd_find(u, prog, (uint32_t)slot);
	if (f && memcmp(&f->dst, &d, sizeof(d))) {
		udpfwd_flow_free(f);
		f = NULL;
	}
	if (!f && u->nflows >= UDPFWD_FLOWS_MAX) {
		u->stats.full++;
		u->stats.dropped++;
		return;
	}
	if (!f) {
		f = udpfwd_flow_new(u, prog, to, (uint32_t)slot, &d);
		if (!f) {
			u->stats.dropped++;
			return;
		}
		udpfwd_enqueue(f, data, len);
		udpfwd_next_gateway(f);
		return;
	}
	if (f->state == UF_READY)
		udpfwd_up_batched(f, data, len);
	else
		udpfwd_enqueue(f, data, len);
}

/* The local address a datagram was sent to, from its packet info; *ifindex the interface it
 * arrived on. */
static void udpfwd_pktinfo(struct msghdr *msg, union udpfwd_sa *to, unsigned *ifindex)
{
	struct cmsghdr *cm;

	memset(to, 0, sizeof(*to));
	*ifindex = 0;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			const struct in_pktinfo *pi = (const struct in_pktinfo *)CMSG_DATA(cm);

			to->in.sin_family = AF_INET;
			to->in.sin_addr = pi->ipi_addr;
			*ifindex = (unsigned)pi->ipi_ifindex;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			const struct in6_pktinfo *pi = (const struct in6_pktinfo *)CMSG_DATA(cm);

			to->in6.sin6_family = AF_INET6;
			to->in6.sin6_addr = pi->ipi6_addr;
			*ifindex = pi->ipi6_ifindex;
		}
	}
}

static void udpfwd_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct udpfwd_batch *b = &udpfwd_batch;
	struct udpfwd *u = arg;
	union udpfwd_sa to;
	unsigned ifindex;
	int n = UDPFWD_BATCH;

	(void)loop;
	(void)events;
	for (int round = 0; round < UDPFWD_ROUNDS && n == UDPFWD_BATCH; round++) {
		n = udpfwd_recv_batch(fd, true);
		for (int i = 0; i < n; i++) {
			udpfwd_pktinfo(&b->msg[i].msg_hdr, &to, &ifindex);
			/* Only this host's programs send on lo: a datagram from the network to a
			 * slot address (routed here for IPv6) must not be relayed. */
			if (ifindex != u->lo) {
				u->stats.dropped++;
				continue;
			}
			udpfwd_from_program(u, &b->from[i], &to, b->buf[i] + SOCKS5_UDP_HEADER_MAX,
					    b->msg[i].msg_len);
		}
		udpfwd_flush();
	}
}

/* A wildcard socket of af at port (0: any) that learns each datagram's local address. */
static int udpfwd_socket(struct udpfwd *u, int af, uint16_t port, int *out)
{
	union udpfwd_sa sa = {0};
	socklen_t len = af == AF_INET6 ? sizeof(sa.in6) : sizeof(sa.in);
	uint32_t mark = u->cfg.mark;
	int one = 1, fd;

	sa.sa.sa_family = (sa_family_t)af;
	addr_set_port(&sa.sa, port);
	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	*out = fd;
	udpfwd_sockbuf(fd, UDPFWD_SOCKBUF);
	/* IPv6 checks a reply's source against assigned addresses, not local routes: the slot
	 * addresses are only routed, so sending from them takes IPV6_FREEBIND. */
	if ((af == AF_INET6 &&
	     (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	      setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 ||
	      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)) ||
	    (af == AF_INET && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) ||
	    (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) ||
	    bind(fd, &sa.sa, len) < 0 || getsockname(fd, &sa.sa, &len) < 0)
		return -errno;
	u->port = addr_port(&sa.sa);
	return ev_io_add(u->loop, fd, EV_READ, udpfwd_cb, u);
}

/* The IPv6 side: the slot route and the socket. Without them IPv6 UDP stays refused. */
static void udpfwd_open6(struct udpfwd *u)
{
	struct in6_addr net;
	int err;

	udpfwd_addr6(&net, 0);
	err = udproute_add_local6(&net, S46_UDP_NET6_LEN);
	if (!err)
		err = udpfwd_socket(u, AF_INET6, u->port, &u->fd6);
	if (!err)
		return;
	/* EPERM: no CAP_NET_ADMIN, without which the programs cannot load either (and the agent
	 * says so in one line). */
	if (err != -EPERM)
		log_warnx(
		    "UDP forwarder, IPv6: %s (UDP from IPv6 sockets to fake addresses is refused)",
		    strerror(-err));
	if (u->fd6 >= 0) {
		ev_io_forget(u->loop, u->fd6);
		close(u->fd6);
	}
	u->fd6 = -1;
}

int udpfwd_new(struct udpfwd **out, struct ev_loop *loop, uint16_t port,
	       const struct redirect_config *cfg, struct bpfload *b, struct fakeip *table,
	       const struct fakeip_config *fcfg)
{
	struct udpfwd *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->cfg = *cfg;
	u->bpf = b;
	u->table = table;
	u->fcfg = fcfg;
	u->fd = u->fd6 = -1;
	u->lo = if_nametoindex("lo");
	list_init(&u->flows);
	for (unsigned i = 0; i < UDPFWD_BUCKETS; i++)
		list_init(&u->by_key[i]);
	err = udpfwd_socket(u, AF_INET, port, &u->fd);
	if (err) {
		udpfwd_free(u);
		return err;
	}
	udpfwd_open6(u);
	/* Made here, in the namespace being served (see netns.c), like the sockets. */
	err = sockdiag_udp_new(&u->diag);
	if (err)
		log_warnx("UDP forwarder: sock_diag: %s (a flow ends at its idle timeout, not when "
			  "the program closes its socket)",
			  strerror(-err));
	*out = u;
	return 0;
}

void udpfwd_free(struct udpfwd *u)
{
	if (!u)
		return;
	while (!list_empty(&u->flows))
		udpfwd_flow_free(list_first_entry(&u->flows, struct udpfwd_flow, link));
	if (u->fd >= 0) {
		ev_io_forget(u->loop, u->fd);
		close(u->fd);
	}
	if (u->fd6 >= 0) {
		ev_io_forget(u->loop, u->fd6);
		close(u->fd6);
	}
	sockdiag_udp_free(u->diag);
	free(u);
}

void udpfwd_sock_released(struct udpfwd *u, uint64_t cookie)
{
	struct list_head *pos, *next;
	unsigned n = 0;

	for (pos = u->flows.next; pos != &u->flows; pos = next) {
		struct udpfwd_flow *f = list_entry(pos, struct udpfwd_flow, link);

		next = pos->next;
		if (f->cookie != cookie)
			continue;
		n++;
		/* What waits for the association still goes out. */
		if (f->state == UF_DIALING) {
			f->closing = true;
			continue;
		}
		u->stats.closed++;
		udpfwd_flow_free(f);
	}
	if (n)
		log_debug("UDP: socket %llu of a program closed, %u flow%s ended",
			  (unsigned long long)cookie, n, n == 1 ? "" : "s");
}

void udpfwd_set_bpf(struct udpfwd *u, struct bpfload *b)
{
	u->bpf = b;
}

uint16_t udpfwd_port(const struct udpfwd *u)
{
	return u->port;
}

bool udpfwd_has_v6(const struct udpfwd *u)
{
	return u->fd6 >= 0;
}

void udpfwd_get_stats(const struct udpfwd *u, struct udpfwd_stats *out)
{
	*out = u->stats;
}

void udpfwd_walk(struct udpfwd *u, udpfwd_flow_cb *fn, void *arg)
{
	uint64_t now = ev_clock_ms();
	struct udpfwd_flow *f;

	list_for_each_entry(f, &u->flows, link)
	{
		struct udpfwd_info fi = {
		    .client = (struct sockaddr *)&f->prog,
		    .orig = (struct sockaddr *)&f->origsa,
		    .target = f->target_str,
		    .gateway = f->gw ? f->gw->name : "",
		    .state = f->state == UF_READY ? "relay" : "associate",
		    .up = f->up,
		    .down = f->down,
		    .dropped = f->dropped,
		    .age_ms = now - f->start_ms,
		};

		fn(&fi, arg);
	}
}
