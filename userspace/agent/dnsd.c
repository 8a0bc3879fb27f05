/* dnsd.c — the fake-IP DNS responder: UDP and TCP listeners, fake answers, upstream forwarding. */
#include "dnsd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "dns.h"
#include "ev.h"
#include "fakeip.h"
#include "log.h"

#define DNSD_MAX_PENDING 512
#define DNSD_MAX_TCP 64
#define DNSD_TCP_IDLE_MS 10000
/* A TCP client that stops reading is dropped once this much output waits for it. */
#define DNSD_TCP_OUT_MAX (256 * 1024)
#define DNSD_UDP_BATCH 64
#define DNSD_SAVE_DELAY_MS 1000
/* Our own answers hold at most a question and a PTR name: two 255-byte names. */
#define DNSD_REPLY_MAX 1024

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
	struct dnsd_pending *prev, *next;
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
	struct dnsd_tcp *prev, *next;
	int fd;
	bool registered, eof;
	unsigned npending;
	struct ev_timer idle;
	uint8_t in[2 + DNS_TCP_MAX];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
};

struct dnsd {
	struct ev_loop *loop;
	struct dnsd_config cfg;
	struct fakeip *table;
	int udp4, udp6, tcp4, tcp6;
	unsigned short port;
	struct dnsd_stats stats;
	struct dnsd_pending *pending;
	unsigned npending;
	struct dnsd_tcp *conns;
	unsigned nconns;
	struct ev_timer save_timer;
	bool mark_warned;
	uint8_t buf[DNS_TCP_MAX];
};

/* Domains answered locally or by special resolvers, never through a gateway. */
static const char *const dnsd_local_domains[] = {
    "local", "localhost", "in-addr.arpa", "ip6.arpa", "home.arpa", "onion", "invalid", NULL,
};

static void dnsd_pending_free(struct dnsd_pending *p);
static void dnsd_tcp_update(struct dnsd_tcp *c);

void dnsd_config_default(struct dnsd_config *cfg)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&cfg->listen4;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&cfg->listen6;

	memset(cfg, 0, sizeof(*cfg));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_loopback;
	cfg->upstream.ss_family = AF_UNSPEC;
	cfg->ttl_s = FAKEIP_DEFAULT_TTL;
	cfg->timeout_ms = DNSD_TIMEOUT_MS;
}

int dnsd_upstream_from_resolv(const char *path, struct sockaddr_storage *out)
{
	char line[512], ip[INET6_ADDRSTRLEN + 1];
	socklen_t len;
	FILE *f = fopen(path, "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %46s", ip) != 1)
			continue;
		if (!addr_parse_ip(ip, out, &len)) {
			addr_set_port((struct sockaddr *)out, 53);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int dnsd_no_fake_add(const char ***list, size_t *n, const char *suffix)
{
	const char **l;

	while (*suffix == '.')
		suffix++;
	if (!*suffix)
		return -EINVAL;
	l = realloc(*list, (*n + 2) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	l[(*n)++] = suffix;
	l[*n] = NULL;
	*list = l;
	return 0;
}

/* name (lower case, no trailing dot) equals suffix or ends with "." suffix. */
static bool dnsd_under(const char *name, const char *suffix)
{
	size_t n = strlen(name), s;

	while (*suffix == '.')
		suffix++;
	s = strlen(suffix);
	while (s && suffix[s - 1] == '.')
		s--;
	if (!s || s > n || strncasecmp(name + n - s, suffix, s))
		return false;
	return s == n || name[n - s - 1] == '.';
}

bool dnsd_fakeable(const struct dnsd_config *cfg, const char *name)
{
	if (!strchr(name, '.'))
		return false;
	for (const char *const *s = dnsd_local_domains; *s; s++)
		if (dnsd_under(name, *s))
			return false;
	for (const char *const *s = cfg->no_fake; s && *s; s++)
		if (dnsd_under(name, *s))
			return false;
	return true;
}

/* ---- answering ---- */

static void dnsd_send(struct dnsd *d, struct dnsd_client *c, const uint8_t *msg, size_t len);

static void dnsd_reply(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q,
		       unsigned rcode, const struct dns_rr *an, size_t nan)
{
	uint8_t out[DNSD_REPLY_MAX];
	size_t max = c->conn ? DNS_TCP_MAX : q->udp_size;
	int n;

	if (rcode == DNS_RCODE_SERVFAIL)
		d->stats.servfail++;
	n = dns_build_reply(out, sizeof(out), max, q, rcode, an, nan);
	if (n > 0)
		dnsd_send(d, c, out, (size_t)n);
}

/* Never longer than the table keeps an unused entry: a client must not hold on to an
 * address after it may have gone to another name. */
static unsigned dnsd_ttl(const struct dnsd *d)
{
	unsigned keep = fakeip_get_config(d->table)->ttl_s;

	return d->cfg.ttl_s && d->cfg.ttl_s < keep ? d->cfg.ttl_s : keep;
}

static void dnsd_save_later(struct dnsd *d)
{
	if (!ev_timer_armed(&d->save_timer))
		ev_timer_start(d->loop, &d->save_timer, DNSD_SAVE_DELAY_MS);
}

static void dnsd_save_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct dnsd *d = container_of(t, struct dnsd, save_timer);
	int err = fakeip_flush(d->table);

	if (err)
		log_warnx("dnsd: cannot save the fake-IP table: %s", strerror(-err));
}

static void dnsd_answer_fake(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q)
{
	int af = q->qtype == DNS_TYPE_A ? AF_INET : AF_INET6;
	struct dns_rr rr = {.type = q->qtype, .ttl = dnsd_ttl(d)};
	uint8_t addr[16];
	int err;

	err = fakeip_lookup_name(d->table, q->name, af, addr, (uint64_t)time(NULL));
	if (err) {
		/* Exhausted: an error answer, never somebody else's address. */
		log_warnx("dnsd: no fake address for '%s': %s", q->name, strerror(-err));
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	rr.rdata = addr;
	rr.rdlen = af == AF_INET ? 4 : 16;
	d->stats.faked++;
	dnsd_save_later(d);
	dnsd_reply(d, c, q, DNS_RCODE_NOERROR, &rr, 1);
}

/* PTR for an address of our pools: the name behind it, or NXDOMAIN. Returns false when
 * the name is not a reverse name inside a pool (then it is forwarded). */
static bool dnsd_answer_ptr(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q)
{
	uint8_t addr[16], wire[DNS_NAME_WIRE_MAX];
	char name[DNS_NAME_TEXT_MAX];
	int af = dns_parse_reverse(q->name, addr), n;
	struct dns_rr rr = {.type = DNS_TYPE_PTR, .ttl = dnsd_ttl(d)};

	if (af < 0 || !fakeip_in_pool(fakeip_get_config(d->table), af, addr))
		return false;
	if (fakeip_lookup_addr(d->table, af, addr, name, sizeof(name)) ||
	    (n = dns_encode_name(name, wire, sizeof(wire))) < 0) {
		dnsd_reply(d, c, q, DNS_RCODE_NXDOMAIN, NULL, 0);
		return true;
	}
	rr.rdata = wire;
	rr.rdlen = (uint16_t)n;
	dnsd_reply(d, c, q, DNS_RCODE_NOERROR, &rr, 1);
	return true;
}

/* ---- pending queries ---- */

static void dnsd_pending_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct dnsd_pending *p = container_of(t, struct dnsd_pending, timer);
	struct dnsd *d = p->d;

	if (p->kind == DNSD_EXISTS) {
		/* Could not tell in time: the name is faked, as without the check. */
		if (d->cfg.exists_cancel)
			d->cfg.exists_cancel(d->cfg.exists_arg, p);
		dnsd_answer_fake(d, &p->client, &p->q);
	} else {
		log_debug("dnsd: upstream timeout for '%s'", p->q.name);
		dnsd_reply(d, &p->client, &p->q, DNS_RCODE_SERVFAIL, NULL, 0);
	}
	dnsd_pending_free(p);
}

static struct dnsd_pending *dnsd_pending_new(struct dnsd *d, enum dnsd_pending_kind kind,
					     const struct dnsd_client *c, const struct dns_query *q)
{
	struct dnsd_pending *p;

	if (d->npending >= DNSD_MAX_PENDING)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->d = d;
	p->kind = kind;
	p->client = *c;
	p->q = *q;
	p->fd = -1;
	ev_timer_init(&p->timer, dnsd_pending_timeout);
	if (ev_timer_start(d->loop, &p->timer, d->cfg.timeout_ms)) {
		free(p);
		return NULL;
	}
	p->next = d->pending;
	if (d->pending)
		d->pending->prev = p;
	d->pending = p;
	d->npending++;
	if (c->conn)
		c->conn->npending++;
	return p;
}

static void dnsd_pending_free(struct dnsd_pending *p)
{
	struct dnsd *d = p->d;
	struct dnsd_tcp *conn = p->client.conn;

	ev_timer_stop(d->loop, &p->timer);
	if (p->fd >= 0) {
		ev_io_del(d->loop, p->fd);
		close(p->fd);
	}
	if (p->prev)
		p->prev->next = p->next;
	else
		d->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	d->npending--;
	free(p->msg);
	free(p->rbuf);
	free(p);
	if (conn) {
		conn->npending--;
		dnsd_tcp_update(conn);
	}
}

/* An upstream answer for p: relayed with the client's ID, cut to the client's size. */
static void dnsd_relay_answer(struct dnsd_pending *p, uint8_t *msg, size_t len)
{
	struct dnsd *d = p->d;
	size_t max = p->client.conn ? DNS_TCP_MAX : p->q.udp_size;
	int n;

	dns_put16(msg, p->q.hdr.id);
	n = dns_truncate(msg, len, max);
	if (n < 0) {
		dnsd_reply(d, &p->client, &p->q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	d->stats.forwarded++;
	dnsd_send(d, &p->client, msg, (size_t)n);
}

/* Only an answer with our ID and the question we asked counts: anything else may be
 * spoofed or late and is ignored. */
static bool dnsd_upstream_valid(const struct dnsd_pending *p, const uint8_t *msg, size_t len)
{
	return len >= DNS_HDR_LEN && dns_get16(msg) == p->up_id &&
	       dns_answer_matches(msg, len, &p->q);
}

static void dnsd_up_udp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dnsd_pending *p = arg;
	struct dnsd *d = p->d;
	ssize_t n;

	for (;;) {
		n = recv(fd, d->buf, sizeof(d->buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ICMP unreachable: no resolver there. */
			log_debug("dnsd: upstream: %s", strerror(errno));
			dnsd_reply(d, &p->client, &p->q, DNS_RCODE_SERVFAIL, NULL, 0);
			dnsd_pending_free(p);
			return;
		}
		if (dnsd_upstream_valid(p, d->buf, (size_t)n))
			break;
	}
	dnsd_relay_answer(p, d->buf, (size_t)n);
	dnsd_pending_free(p);
}

static void dnsd_up_tcp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dnsd_pending *p = arg;
	struct dnsd *d = p->d;
	size_t mlen;
	ssize_t n;
	int r;

	if (p->sent < p->len) {
		n = send(fd, p->msg + p->sent, p->len - p->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			goto fail;
		if (n > 0)
			p->sent += (size_t)n;
		if (p->sent == p->len)
			ev_io_mod(loop, fd, EV_READ);
		return;
	}
	n = recv(fd, p->rbuf + p->rlen, 2 + DNS_TCP_MAX - p->rlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto fail;
	p->rlen += (size_t)n;
	r = dns_tcp_frame(p->rbuf, p->rlen, &mlen);
	if (r == 0)
		return;
	if (r < 0 || !dnsd_upstream_valid(p, p->rbuf + 2, mlen))
		goto fail;
	dnsd_relay_answer(p, p->rbuf + 2, mlen);
	dnsd_pending_free(p);
	return;
fail:
	log_debug("dnsd: upstream TCP for '%s' failed", p->q.name);
	dnsd_reply(d, &p->client, &p->q, DNS_RCODE_SERVFAIL, NULL, 0);
	dnsd_pending_free(p);
}

static int dnsd_upstream_socket(struct dnsd *d, int type)
{
	const struct sockaddr *up = (const struct sockaddr *)&d->cfg.upstream;
	int fd, err;

	fd = socket(up->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (d->cfg.so_mark &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &d->cfg.so_mark, sizeof(d->cfg.so_mark)) &&
	    !d->mark_warned) {
		/* Without the mark the BPF programs may steer the query back to us; the
		 * pending limit and the timeout bound such a loop. */
		log_warn("dnsd: SO_MARK %u on the upstream socket", d->cfg.so_mark);
		d->mark_warned = true;
	}
	if (connect(fd, up, addr_sa_len(up)) && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int dnsd_forward_start(struct dnsd *d, struct dnsd_pending *p, const uint8_t *msg,
			      size_t len)
{
	bool tcp = p->client.conn != NULL;
	size_t off = tcp ? 2 : 0;
	int err;

	p->msg = malloc(len + off);
	if (!p->msg || (tcp && !(p->rbuf = malloc(2 + DNS_TCP_MAX))))
		return -ENOMEM;
	if (getrandom(&p->up_id, sizeof(p->up_id), 0) != sizeof(p->up_id))
		p->up_id = (uint16_t)rand();
	memcpy(p->msg + off, msg, len);
	if (tcp)
		dns_tcp_prefix(p->msg, len);
	dns_put16(p->msg + off, p->up_id);
	p->len = len + off;
	p->fd = dnsd_upstream_socket(d, tcp ? SOCK_STREAM : SOCK_DGRAM);
	if (p->fd < 0)
		return p->fd;
	if (tcp)
		return ev_io_add(d->loop, p->fd, EV_WRITE, dnsd_up_tcp_cb, p);
	if (send(p->fd, p->msg, p->len, MSG_DONTWAIT) < 0)
		return -errno;
	err = ev_io_add(d->loop, p->fd, EV_READ, dnsd_up_udp_cb, p);
	return err;
}

static void dnsd_forward(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q,
			 const uint8_t *msg, size_t len)
{
	struct dnsd_pending *p;
	int err;

	if (d->cfg.upstream.ss_family != AF_INET && d->cfg.upstream.ss_family != AF_INET6) {
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	p = dnsd_pending_new(d, c->conn ? DNSD_UP_TCP : DNSD_UP_UDP, c, q);
	if (!p) {
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	err = dnsd_forward_start(d, p, msg, len);
	if (err) {
		log_debug("dnsd: forwarding '%s': %s", q->name, strerror(-err));
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		dnsd_pending_free(p);
	}
}

/* Called by the existence check, now or later. */
static void dnsd_exists_done(void *ctx, int result)
{
	struct dnsd_pending *p = ctx;
	struct dnsd *d = p->d;

	if (result == 0)
		dnsd_reply(d, &p->client, &p->q, DNS_RCODE_NXDOMAIN, NULL, 0);
	else
		dnsd_answer_fake(d, &p->client, &p->q);
	dnsd_pending_free(p);
}

static void dnsd_fake(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q)
{
	struct dnsd_pending *p;
	int err;

	if (!d->cfg.check_exists || !d->cfg.exists) {
		dnsd_answer_fake(d, c, q);
		return;
	}
	p = dnsd_pending_new(d, DNSD_EXISTS, c, q);
	if (!p) {
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	err = d->cfg.exists(d->cfg.exists_arg, p->q.name, dnsd_exists_done, p);
	if (err)
		dnsd_exists_done(p, err);
}

/* One message from a client, whatever the transport. */
static void dnsd_handle(struct dnsd *d, struct dnsd_client *c, const uint8_t *msg, size_t len)
{
	struct dns_query q;
	uint8_t out[DNS_HDR_LEN];
	int err, n;

	d->stats.queries++;
	err = dns_parse_query(msg, len, &q);
	if (err == -EBADMSG || err == -EOPNOTSUPP) {
		if (err == -EBADMSG)
			d->stats.formerr++;
		n = dns_build_header_reply(out, sizeof(out), &q.hdr,
					   err == -EBADMSG ? DNS_RCODE_FORMERR : DNS_RCODE_NOTIMP);
		if (n > 0)
			dnsd_send(d, c, out, (size_t)n);
		return;
	}
	if (err)
		return; /* no header, or a response: nobody to answer */
	if (q.edns && q.edns_version > 0) {
		dnsd_reply(d, c, &q, DNS_RCODE_BADVERS, NULL, 0);
		return;
	}
	if (q.qclass == DNS_CLASS_IN && q.plain) {
		if (q.qtype == DNS_TYPE_PTR && dnsd_answer_ptr(d, c, &q))
			return;
		if ((q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA) &&
		    dnsd_fakeable(&d->cfg, q.name)) {
			dnsd_fake(d, c, &q);
			return;
		}
		/* SVCB/HTTPS records carry real address hints that would bypass the fake
		 * addresses: NODATA makes clients fall back to A/AAAA (RFC 9460 §3). */
		if ((q.qtype == DNS_TYPE_SVCB || q.qtype == DNS_TYPE_HTTPS) &&
		    dnsd_fakeable(&d->cfg, q.name)) {
			dnsd_reply(d, c, &q, DNS_RCODE_NOERROR, NULL, 0);
			return;
		}
	}
	dnsd_forward(d, c, &q, msg, len);
}

/* ---- UDP ---- */

static void dnsd_udp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dnsd *d = arg;
	struct dnsd_client c = {.ufd = fd};

	for (int i = 0; i < DNSD_UDP_BATCH; i++) {
		ssize_t n;

		c.alen = sizeof(c.addr);
		n = recvfrom(fd, d->buf, sizeof(d->buf), MSG_DONTWAIT, (struct sockaddr *)&c.addr,
			     &c.alen);
		if (n < 0)
			return;
		dnsd_handle(d, &c, d->buf, (size_t)n);
	}
}

/* ---- TCP ---- */

static void dnsd_tcp_close(struct dnsd_tcp *c)
{
	struct dnsd *d = c->d;

	ev_timer_stop(d->loop, &c->idle);
	if (c->registered)
		ev_io_del(d->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nconns--;
	free(c->out);
	free(c);
}

/* Drops a connection now; queries still pending forget it and answer nobody. */
static void dnsd_tcp_abort(struct dnsd_tcp *c)
{
	for (struct dnsd_pending *p = c->d->pending; p; p = p->next)
		if (p->client.conn == c)
			p->client.conn = NULL, p->client.ufd = -1;
	c->npending = 0;
	dnsd_tcp_close(c);
}

static int dnsd_tcp_flush(struct dnsd_tcp *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static void dnsd_tcp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* Registers for what the connection still needs, or closes it when it needs nothing. */
static void dnsd_tcp_update(struct dnsd_tcp *c)
{
	unsigned want = (c->eof ? 0 : EV_READ) | (c->out_len ? EV_WRITE : 0);
	int err = 0;

	if (!want) {
		if (c->eof && !c->npending) {
			dnsd_tcp_close(c);
			return;
		}
		if (c->registered)
			ev_io_del(c->d->loop, c->fd);
		c->registered = false;
		return;
	}
	if (c->registered)
		err = ev_io_mod(c->d->loop, c->fd, want);
	else
		err = ev_io_add(c->d->loop, c->fd, want, dnsd_tcp_cb, c);
	if (err)
		dnsd_tcp_abort(c);
	else
		c->registered = true;
}

static int dnsd_tcp_queue(struct dnsd_tcp *c, const uint8_t *msg, size_t len)
{
	size_t need = c->out_len + 2 + len;

	if (need > DNSD_TCP_OUT_MAX)
		return -ENOBUFS;
	if (need > c->out_cap) {
		uint8_t *o = realloc(c->out, need);

		if (!o)
			return -ENOMEM;
		c->out = o;
		c->out_cap = need;
	}
	dns_tcp_prefix(c->out + c->out_len, len);
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len = need;
	return 0;
}

static void dnsd_send(struct dnsd *d, struct dnsd_client *c, const uint8_t *msg, size_t len)
{
	struct dnsd_tcp *conn = c->conn;

	if (!conn) {
		if (c->ufd >= 0)
			sendto(c->ufd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&c->addr,
			       c->alen);
		return;
	}
	if (dnsd_tcp_queue(conn, msg, len) || dnsd_tcp_flush(conn)) {
		/* The pending query that called us frees its reference afterwards. */
		conn->eof = true;
		conn->out_len = conn->out_off = 0;
		shutdown(conn->fd, SHUT_RDWR);
	}
	ev_timer_start(d->loop, &conn->idle, DNSD_TCP_IDLE_MS);
}

/* Answers every complete message in the input buffer. */
static int dnsd_tcp_consume(struct dnsd_tcp *c)
{
	struct dnsd_client client = {.ufd = -1, .conn = c};
	size_t off = 0, mlen;
	int r;

	while ((r = dns_tcp_frame(c->in + off, c->in_len - off, &mlen)) > 0) {
		/* Answers to earlier messages may close nothing: npending keeps c alive. */
		c->npending++;
		dnsd_handle(c->d, &client, c->in + off + 2, mlen);
		c->npending--;
		off += 2 + mlen;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return r < 0 ? r : 0;
}

static void dnsd_tcp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dnsd_tcp *c = arg;
	ssize_t n;

	if (events & EV_WRITE && dnsd_tcp_flush(c)) {
		dnsd_tcp_abort(c);
		return;
	}
	if (events & (EV_READ | EV_ERROR) && !c->eof) {
		n = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			dnsd_tcp_abort(c);
			return;
		}
		if (n == 0)
			c->eof = true;
		if (n > 0) {
			c->in_len += (size_t)n;
			ev_timer_start(loop, &c->idle, DNSD_TCP_IDLE_MS);
			if (dnsd_tcp_consume(c))
				c->eof = true; /* a zero length: answer what came before, stop */
		}
	}
	dnsd_tcp_update(c);
}

static void dnsd_tcp_idle(struct ev_loop *loop, struct ev_timer *t)
{
	dnsd_tcp_abort(container_of(t, struct dnsd_tcp, idle));
}

static void dnsd_accept_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dnsd *d = arg;
	struct dnsd_tcp *c;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	c = d->nconns < DNSD_MAX_TCP ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(cfd);
		return;
	}
	c->d = d;
	c->fd = cfd;
	ev_timer_init(&c->idle, dnsd_tcp_idle);
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
	ev_timer_start(loop, &c->idle, DNSD_TCP_IDLE_MS);
	dnsd_tcp_update(c);
}

/* ---- listeners ---- */

static int dnsd_bind(int af, int type, const struct sockaddr_storage *where, unsigned short port)
{
	struct sockaddr_storage ss = *where;
	int fd, one = 1, err;

	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	addr_set_port((struct sockaddr *)&ss, port);
	if (bind(fd, (struct sockaddr *)&ss, addr_len(af)) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static unsigned short dnsd_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	return addr_port((struct sockaddr *)&ss);
}

static void dnsd_close_listeners(struct dnsd *d)
{
	int *fds[] = {&d->udp4, &d->udp6, &d->tcp4, &d->tcp6};

	for (size_t i = 0; i < 4; i++) {
		if (*fds[i] < 0)
			continue;
		ev_io_del(d->loop, *fds[i]);
		close(*fds[i]);
		*fds[i] = -1;
	}
}

/* UDP and TCP of one family on *port (0 = pick; the pick is written back). */
static int dnsd_listen_family(int af, const struct sockaddr_storage *where, unsigned short *port,
			      int *udp, int *tcp)
{
	*udp = dnsd_bind(af, SOCK_DGRAM, where, *port);
	if (*udp < 0)
		return *udp;
	*port = dnsd_bound_port(*udp);
	*tcp = dnsd_bind(af, SOCK_STREAM, where, *port);
	return *tcp < 0 ? *tcp : 0;
}

/* Binds all four sockets on one port: the first bound picks it when the config says 0. A
 * host without IPv6 (or without ::1) still gets the IPv4 responder. */
static int dnsd_listen_once(struct dnsd *d)
{
	const struct sockaddr_storage *l4 = &d->cfg.listen4, *l6 = &d->cfg.listen6;
	bool has4 = l4->ss_family == AF_INET, has6 = l6->ss_family == AF_INET6;
	unsigned short port = addr_port((const struct sockaddr *)(has4 ? l4 : l6));
	int err;

	if (!has4 && !has6)
		return -EINVAL;
	if (has4 && (err = dnsd_listen_family(AF_INET, l4, &port, &d->udp4, &d->tcp4)))
		return err;
	if (has6 && (err = dnsd_listen_family(AF_INET6, l6, &port, &d->udp6, &d->tcp6))) {
		if (!has4 || (err != -EAFNOSUPPORT && err != -EADDRNOTAVAIL))
			return err;
		log_warnx("dnsd: no IPv6 listener (%s), answering on IPv4 only", strerror(-err));
		if (d->udp6 >= 0)
			close(d->udp6);
		d->udp6 = d->tcp6 = -1;
	}
	d->port = port;
	return 0;
}

static int dnsd_listen(struct dnsd *d)
{
	const struct sockaddr_storage *l4 = &d->cfg.listen4, *l6 = &d->cfg.listen6;
	bool pick = !addr_port((const struct sockaddr *)(l4->ss_family == AF_INET ? l4 : l6));
	int err;

	/* A picked port may be taken for TCP or IPv6 by someone else: try another. */
	for (int tries = 0; tries < 16; tries++) {
		err = dnsd_listen_once(d);
		if (!err || !pick || err != -EADDRINUSE)
			break;
		dnsd_close_listeners(d);
	}
	if (err)
		return err;
	if ((d->udp4 >= 0 && (err = ev_io_add(d->loop, d->udp4, EV_READ, dnsd_udp_cb, d))) ||
	    (d->udp6 >= 0 && (err = ev_io_add(d->loop, d->udp6, EV_READ, dnsd_udp_cb, d))) ||
	    (d->tcp4 >= 0 && (err = ev_io_add(d->loop, d->tcp4, EV_READ, dnsd_accept_cb, d))) ||
	    (d->tcp6 >= 0 && (err = ev_io_add(d->loop, d->tcp6, EV_READ, dnsd_accept_cb, d))))
		return err;
	return 0;
}

int dnsd_start(struct dnsd **out, struct ev_loop *loop, const struct dnsd_config *cfg,
	       struct fakeip *table)
{
	struct dnsd *d;
	int err;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->cfg = *cfg;
	if (!d->cfg.timeout_ms)
		d->cfg.timeout_ms = DNSD_TIMEOUT_MS;
	d->table = table;
	d->udp4 = d->udp6 = d->tcp4 = d->tcp6 = -1;
	ev_timer_init(&d->save_timer, dnsd_save_cb);
	err = dnsd_listen(d);
	if (err) {
		dnsd_stop(d);
		return err;
	}
	log_debug("dnsd: listening on port %u", d->port);
	*out = d;
	return 0;
}

void dnsd_stop(struct dnsd *d)
{
	if (!d)
		return;
	while (d->conns)
		dnsd_tcp_abort(d->conns);
	while (d->pending) {
		if (d->pending->kind == DNSD_EXISTS && d->cfg.exists_cancel)
			d->cfg.exists_cancel(d->cfg.exists_arg, d->pending);
		dnsd_pending_free(d->pending);
	}
	ev_timer_stop(d->loop, &d->save_timer);
	if (d->table)
		fakeip_flush(d->table);
	dnsd_close_listeners(d);
	free(d);
}

unsigned short dnsd_port(const struct dnsd *d)
{
	return d->port;
}

void dnsd_get_stats(const struct dnsd *d, struct dnsd_stats *out)
{
	*out = d->stats;
}
