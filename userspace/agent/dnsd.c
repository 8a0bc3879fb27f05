/* dnsd.c — the fake-IP DNS responder: listeners, query dispatch, fake and PTR answers. */
#include "dnsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "dns.h"
#include "dnsd_int.h"
#include "dstmatch.h"
#include "ev.h"
#include "fakeip.h"
#include "literal.h"
#include "log.h"
#include "netutil.h"

#define DNSD_UDP_BATCH 64
/* Our own answers hold at most a question and a PTR name: two 255-byte names. */
#define DNSD_REPLY_MAX 1024

/* Domains answered locally or by special resolvers, never through a gateway. */
static const char *const dnsd_local_domains[] = {
    "local", "localhost", "in-addr.arpa", "ip6.arpa", "home.arpa", "onion", "invalid", NULL,
};

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
	cfg->literal_suffix = LITERAL_SUFFIX_DEFAULT;
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

void dnsd_set_no_fake(struct dnsd *d, const char *const *no_fake)
{
	d->cfg.no_fake = no_fake;
}

bool dnsd_fakeable(const struct dnsd_config *cfg, const char *name)
{
	if (!strchr(name, '.'))
		return false;
	for (const char *const *s = dnsd_local_domains; *s; s++)
		if (dstmatch_under(name, *s))
			return false;
	for (const char *const *s = cfg->no_fake; s && *s; s++)
		if (dstmatch_under(name, *s))
			return false;
	return true;
}

/* ---- answering ---- */

void dnsd_reply(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q, unsigned rcode,
		const struct dns_rr *an, size_t nan)
{
	uint8_t out[DNSD_REPLY_MAX];
	size_t max = c->conn ? DNS_TCP_MAX : q->udp_size;
	int n;

	if (rcode == DNS_RCODE_SERVFAIL)
		d->stats.servfail++;
	n = dns_build_reply(out, sizeof(out), max, q, rcode, an, nan);
	if (n > 0)
		dnsd_send(c, out, (size_t)n);
}

/* Never longer than the table keeps an unused entry: a client must not hold on to an
 * address after it may have gone to another name. */
unsigned dnsd_ttl(const struct dnsd *d)
{
	unsigned keep = fakeip_get_config(d->table)->ttl_s;

	return d->cfg.ttl_s && d->cfg.ttl_s < keep ? d->cfg.ttl_s : keep;
}

void dnsd_answer_fake(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q)
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
	if (dnsd_pending_new(&p, d, DNSD_EXISTS, c, q) < 0) {
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	err = d->cfg.exists(d->cfg.exists_arg, p->q.name, dnsd_exists_done, p);
	if (err)
		dnsd_exists_done(p, err);
}

/* One message from a client, whatever the transport. */
void dnsd_handle(struct dnsd *d, struct dnsd_client *c, const uint8_t *msg, size_t len)
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
			dnsd_send(c, out, (size_t)n);
		return;
	}
	if (err)
		return; /* no header, or a response: nobody to answer */
	if (q.edns && q.edns_version > 0) {
		dnsd_reply(d, c, &q, DNS_RCODE_BADVERS, NULL, 0);
		return;
	}
	if (q.qclass == DNS_CLASS_IN && q.plain) {
		if (dnsd_literal_answer(d, c, &q))
			return;
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
	dnsd_upstream_forward(d, c, &q, msg, len);
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

void dnsd_send(struct dnsd_client *c, const uint8_t *msg, size_t len)
{
	if (c->conn)
		dnsd_tcp_send(c->conn, msg, len);
	else if (c->ufd >= 0)
		sendto(c->ufd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&c->addr, c->alen);
}

/* ---- listeners ---- */

static int dnsd_bind(int type, const struct sockaddr_storage *where, unsigned short port)
{
	struct sockaddr_storage ss = *where;

	addr_set_port((struct sockaddr *)&ss, port);
	if (type == SOCK_STREAM)
		return netutil_listen((struct sockaddr *)&ss, false, false, 64);
	return netutil_socket((struct sockaddr *)&ss, SOCK_DGRAM, false, false);
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
	*udp = dnsd_bind(SOCK_DGRAM, where, *port);
	if (*udp < 0)
		return *udp;
	*port = netutil_local_port(*udp);
	*tcp = dnsd_bind(SOCK_STREAM, where, *port);
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
	    (d->udp6 >= 0 && (err = ev_io_add(d->loop, d->udp6, EV_READ, dnsd_udp_cb, d))))
		return err;
	/* The TCP sockets go to the listener, which closes them. */
	for (int *fd = &d->tcp4; fd; fd = fd == &d->tcp4 ? &d->tcp6 : NULL) {
		err = *fd >= 0 ? listener_add(&d->tcp, *fd) : 0;
		*fd = -1;
		if (err)
			return err;
	}
	return listener_start(&d->tcp);
}

int dnsd_new(struct dnsd **out, struct ev_loop *loop, const struct dnsd_config *cfg,
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
	list_init(&d->pending);
	list_init(&d->conns);
	listener_init(&d->tcp, loop, "dns", dnsd_tcp_accepted, d);
	err = dnsd_listen(d);
	if (err) {
		dnsd_free(d);
		return err;
	}
	log_debug("dnsd: listening on port %u", d->port);
	*out = d;
	return 0;
}

void dnsd_free(struct dnsd *d)
{
	if (!d)
		return;
	while (!list_empty(&d->conns))
		dnsd_tcp_abort(list_first_entry(&d->conns, struct dnsd_tcp, link));
	while (!list_empty(&d->pending)) {
		struct dnsd_pending *p = list_first_entry(&d->pending, struct dnsd_pending, link);

		if (p->kind == DNSD_EXISTS && d->cfg.exists_cancel)
			d->cfg.exists_cancel(d->cfg.exists_arg, p);
		dnsd_pending_free(p);
	}
	dnsd_close_listeners(d);
	listener_close(&d->tcp);
	free(d);
}

void dnsd_set_upstream(struct dnsd *d, const struct sockaddr_storage *upstream)
{
	d->cfg.upstream = *upstream;
}

unsigned short dnsd_port(const struct dnsd *d)
{
	return d->port;
}

void dnsd_get_stats(const struct dnsd *d, struct dnsd_stats *out)
{
	*out = d->stats;
}
