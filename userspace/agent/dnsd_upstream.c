/* dnsd_upstream.c — the DNS responder's forwarding to the real resolver over UDP and TCP. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "dns.h"
#include "dnsd_int.h"
#include "ev.h"
#include "log.h"

int dnsd_upstream_from_resolv(const char *path, struct sockaddr_storage *out)
{
	char *line = NULL, ip[INET6_ADDRSTRLEN + 1];
	size_t cap = 0;
	socklen_t len;
	FILE *f = fopen(path, "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	/* Whole lines: the tail of a long `search` line must not read as a nameserver. */
	while (getline(&line, &cap, f) >= 0) {
		if (sscanf(line, " nameserver %46s", ip) != 1)
			continue;
		if (!addr_parse_ip(ip, out, &len)) {
			addr_set_port((struct sockaddr *)out, 53);
			err = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return err;
}

/* An upstream answer for p: relayed with the client's ID, cut to the client's size. */
static void dnsd_upstream_relay(struct dnsd_pending *p, uint8_t *msg, size_t len)
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
	dnsd_send(&p->client, msg, (size_t)n);
}

/* Only an answer with our ID and the question we asked counts: anything else may be
 * spoofed or late and is ignored. */
static bool dnsd_upstream_valid(const struct dnsd_pending *p, const uint8_t *msg, size_t len)
{
	return len >= DNS_HDR_LEN && dns_get16(msg) == p->up_id &&
	       dns_answer_matches(msg, len, &p->q);
}

static void dnsd_upstream_udp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
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
	dnsd_upstream_relay(p, d->buf, (size_t)n);
	dnsd_pending_free(p);
}

static void dnsd_upstream_tcp_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
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
	dnsd_upstream_relay(p, p->rbuf + 2, mlen);
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

	if (d->cfg.upstream_socket) {
		fd = d->cfg.upstream_socket(d->cfg.upstream_arg, up->sa_family, type);
		if (fd < 0)
			return fd;
	} else if ((fd = socket(up->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		return -errno;
	}
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

static int dnsd_upstream_start(struct dnsd *d, struct dnsd_pending *p, const uint8_t *msg,
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
		return ev_io_add(d->loop, p->fd, EV_WRITE, dnsd_upstream_tcp_cb, p);
	if (send(p->fd, p->msg, p->len, MSG_DONTWAIT) < 0)
		return -errno;
	err = ev_io_add(d->loop, p->fd, EV_READ, dnsd_upstream_udp_cb, p);
	return err;
}

void dnsd_upstream_forward(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q,
			   const uint8_t *msg, size_t len)
{
	struct dnsd_pending *p;
	int err;

	if (d->cfg.upstream.ss_family != AF_INET && d->cfg.upstream.ss_family != AF_INET6) {
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	if (dnsd_pending_new(&p, d, c->conn ? DNSD_UP_TCP : DNSD_UP_UDP, c, q) < 0) {
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		return;
	}
	err = dnsd_upstream_start(d, p, msg, len);
	if (err) {
		log_debug("dnsd: forwarding '%s': %s", q->name, strerror(-err));
		dnsd_reply(d, c, q, DNS_RCODE_SERVFAIL, NULL, 0);
		dnsd_pending_free(p);
	}
}
