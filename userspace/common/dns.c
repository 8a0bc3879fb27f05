/* dns.c — DNS wire format: bounds-checked query parsing, reply building and TCP framing. */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Fixed part of a resource record after its owner name: type, class, ttl, rdlength. */
#define DNS_RR_FIXED 10
/* More pointers than a 255-byte name has labels can only be a loop. */
#define DNS_MAX_POINTERS 128

int dns_parse_header(const uint8_t *buf, size_t len, struct dns_header *h)
{
	if (len < DNS_HDR_LEN)
		return -EMSGSIZE;
	h->id = dns_get16(buf);
	h->flags = dns_get16(buf + 2);
	h->qdcount = dns_get16(buf + 4);
	h->ancount = dns_get16(buf + 6);
	h->nscount = dns_get16(buf + 8);
	h->arcount = dns_get16(buf + 10);
	return 0;
}

/* Copies the name at *off, following compression pointers, into wire (uncompressed).
 * *off ends after the name as it appears at the original position. */
static int dns_name_unpack(const uint8_t *buf, size_t len, size_t *off, uint8_t *wire,
			   size_t *wire_len)
{
	size_t pos = *off, out = 0, end = 0, limit = pos;
	unsigned jumps = 0;

	for (;;) {
		if (pos >= len)
			return -EBADMSG;
		uint8_t l = buf[pos];

		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_POINTERS)
				return -EBADMSG;
			size_t target = (size_t)(l & 0x3f) << 8 | buf[pos + 1];

			/* Only backwards, and before where this chain started: no loops. */
			if (target >= limit)
				return -EBADMSG;
			if (!end)
				end = pos + 2;
			limit = target;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG; /* 0x40 and 0x80 label types are obsolete */
		if (pos + 1 + l > len || out + 1 + l > DNS_NAME_WIRE_MAX)
			return -EBADMSG;
		memcpy(wire + out, buf + pos, 1 + (size_t)l);
		out += 1 + (size_t)l;
		pos += 1 + (size_t)l;
		if (!l)
			break;
	}
	*off = end ? end : pos;
	*wire_len = out;
	return 0;
}

static bool dns_byte_plain(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

/* Wire form to presentation form; bytes that are not plain are written as \DDD. */
static int dns_name_to_text(const uint8_t *wire, char *out, size_t outlen, bool lower, bool *plain)
{
	size_t o = 0;
	bool all_plain = true;

	for (size_t p = 0; wire[p]; p += 1 + wire[p]) {
		if (p && o + 1 < outlen)
			out[o++] = '.';
		for (size_t i = 1; i <= wire[p]; i++) {
			uint8_t c = wire[p + i];

			if (dns_byte_plain(c)) {
				if (o + 1 >= outlen)
					return -ENAMETOOLONG;
				out[o++] = lower ? (char)tolower(c) : (char)c;
				continue;
			}
			all_plain = false;
			if (o + 4 >= outlen)
				return -ENAMETOOLONG;
			o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
		}
	}
	if (o >= outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	if (plain)
		*plain = all_plain;
	return 0;
}

int dns_read_name(const uint8_t *buf, size_t len, size_t *off, char *out, size_t outlen, bool lower)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	size_t wire_len, pos = *off;
	int err;

	err = dns_name_unpack(buf, len, &pos, wire, &wire_len);
	if (err)
		return err;
	err = dns_name_to_text(wire, out, outlen, lower, NULL);
	if (err)
		return -EBADMSG;
	*off = pos;
	return 0;
}

int dns_encode_name(const char *name, uint8_t *out, size_t cap)
{
	size_t o = 0, n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n;) {
		const char *dot = memchr(name + i, '.', n - i);
		size_t l = (dot ? (size_t)(dot - name) : n) - i;

		if (!l || l > 63 || o + 1 + l + 1 > cap || o + 1 + l + 1 > DNS_NAME_WIRE_MAX)
			return -EINVAL;
		out[o++] = (uint8_t)l;
		memcpy(out + o, name + i, l);
		o += l;
		i += l + 1;
		if (!dot)
			break;
	}
	if (o + 1 > cap)
		return -EINVAL;
	out[o++] = 0;
	return (int)o;
}

/* Skips one resource record at *off; fills type/class/ttl/rdlen and the rdata offset. */
struct dns_rr_pos {
	size_t start, rdata;
	uint16_t type, class, rdlen;
	uint32_t ttl;
	bool root_owner;
};

static int dns_skip_rr(const uint8_t *buf, size_t len, size_t *off, struct dns_rr_pos *rr)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	size_t wire_len, pos = *off;
	int err;

	rr->start = pos;
	err = dns_name_unpack(buf, len, &pos, wire, &wire_len);
	if (err)
		return err;
	if (len - pos < DNS_RR_FIXED)
		return -EBADMSG;
	rr->root_owner = wire_len == 1;
	rr->type = dns_get16(buf + pos);
	rr->class = dns_get16(buf + pos + 2);
	rr->ttl = (uint32_t)dns_get16(buf + pos + 4) << 16 | dns_get16(buf + pos + 6);
	rr->rdlen = dns_get16(buf + pos + 8);
	pos += DNS_RR_FIXED;
	if (len - pos < rr->rdlen)
		return -EBADMSG;
	rr->rdata = pos;
	*off = pos + rr->rdlen;
	return 0;
}

/* Reads the OPT pseudo-record (RFC 6891 §6.1.2): owner root, class = payload size,
 * ttl = extended rcode, version, DO bit. */
static int dns_parse_opt(struct dns_query *q, const struct dns_rr_pos *rr)
{
	if (q->edns || !rr->root_owner)
		return -EBADMSG;
	q->edns = true;
	q->edns_version = (uint8_t)(rr->ttl >> 16);
	q->edns_do = rr->ttl & 0x8000u;
	q->udp_size = rr->class < DNS_UDP_MIN ? DNS_UDP_MIN : rr->class;
	if (q->udp_size > DNS_UDP_MAX)
		q->udp_size = DNS_UDP_MAX;
	return 0;
}

static int dns_parse_records(const uint8_t *buf, size_t len, size_t *off, struct dns_query *q)
{
	unsigned total = (unsigned)q->hdr.ancount + q->hdr.nscount + q->hdr.arcount;
	struct dns_rr_pos rr;
	int err;

	for (unsigned i = 0; i < total; i++) {
		err = dns_skip_rr(buf, len, off, &rr);
		if (err)
			return err;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		/* OPT belongs only in the additional section. */
		if (i < (unsigned)q->hdr.ancount + q->hdr.nscount)
			return -EBADMSG;
		err = dns_parse_opt(q, &rr);
		if (err)
			return err;
	}
	return 0;
}

int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q)
{
	size_t off = DNS_HDR_LEN;
	int err;

	memset(q, 0, sizeof(*q));
	q->udp_size = DNS_UDP_MIN;
	err = dns_parse_header(buf, len, &q->hdr);
	if (err)
		return err;
	if (q->hdr.flags & DNS_FLAG_QR)
		return -EINVAL;
	if (DNS_OPCODE(q->hdr.flags) != 0)
		return -EOPNOTSUPP;
	if (q->hdr.qdcount != 1)
		return -EBADMSG;
	err = dns_name_unpack(buf, len, &off, q->qname, &q->qname_len);
	if (err)
		return err;
	if (dns_name_to_text(q->qname, q->name, sizeof(q->name), true, &q->plain))
		q->plain = false, q->name[0] = '\0';
	if (len - off < 4)
		return -EBADMSG;
	q->qtype = dns_get16(buf + off);
	q->qclass = dns_get16(buf + off + 2);
	off += 4;
	err = dns_parse_records(buf, len, &off, q);
	if (err)
		return err;
	return off == len ? 0 : -EBADMSG;
}

static void dns_put_header(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
			   uint16_t ar)
{
	dns_put16(out, id);
	dns_put16(out + 2, flags);
	dns_put16(out + 4, qd);
	dns_put16(out + 6, an);
	dns_put16(out + 8, 0);
	dns_put16(out + 10, ar);
}

static uint16_t dns_reply_flags(uint16_t qflags, unsigned rcode)
{
	return (uint16_t)(DNS_FLAG_QR | (qflags & (DNS_FLAG_RD | DNS_FLAG_CD)) | DNS_FLAG_RA |
			  (rcode & 0xfu));
}

int dns_build_header_reply(uint8_t *out, size_t cap, const struct dns_header *h, unsigned rcode)
{
	if (cap < DNS_HDR_LEN)
		return -ENOBUFS;
	dns_put_header(out, h->id, dns_reply_flags(h->flags & ~(uint16_t)DNS_FLAG_CD, rcode), 0, 0,
		       0);
	return DNS_HDR_LEN;
}

#define DNS_OPT_LEN 11

static void dns_put_opt(uint8_t *p, const struct dns_query *q, unsigned rcode)
{
	p[0] = 0;
	dns_put16(p + 1, DNS_TYPE_OPT);
	dns_put16(p + 3, DNS_UDP_MAX);
	p[5] = (uint8_t)(rcode >> 4);		    /* extended rcode, high 8 bits */
	p[6] = 0;				    /* version we speak */
	dns_put16(p + 7, q->edns_do ? 0x8000u : 0); /* RFC 3225 §3: DO copied */
	dns_put16(p + 9, 0);
}

static size_t dns_rr_len(const struct dns_rr *rr)
{
	return 2 + DNS_RR_FIXED + rr->rdlen;
}

static void dns_put_rr(uint8_t *p, const struct dns_rr *rr)
{
	dns_put16(p, 0xc000 | DNS_HDR_LEN); /* owner = the question name */
	dns_put16(p + 2, rr->type);
	dns_put16(p + 4, DNS_CLASS_IN);
	dns_put16(p + 6, (uint16_t)(rr->ttl >> 16));
	dns_put16(p + 8, (uint16_t)rr->ttl);
	dns_put16(p + 10, rr->rdlen);
	memcpy(p + 12, rr->rdata, rr->rdlen);
}

int dns_build_reply(uint8_t *out, size_t cap, size_t max_len, const struct dns_query *q,
		    unsigned rcode, const struct dns_rr *an, size_t nan)
{
	size_t base = DNS_HDR_LEN + q->qname_len + 4, opt = q->edns ? DNS_OPT_LEN : 0, body = 0;
	uint16_t flags = dns_reply_flags(q->hdr.flags, rcode);
	uint8_t *p;

	if (max_len > cap)
		max_len = cap;
	if (base + opt > max_len)
		return -ENOBUFS;
	for (size_t i = 0; i < nan; i++)
		body += dns_rr_len(&an[i]);
	if (base + body + opt > max_len) {
		flags |= DNS_FLAG_TC;
		nan = 0;
		body = 0;
	}
	dns_put_header(out, q->hdr.id, flags, 1, (uint16_t)nan, q->edns ? 1 : 0);
	p = out + DNS_HDR_LEN;
	memcpy(p, q->qname, q->qname_len);
	p += q->qname_len;
	dns_put16(p, q->qtype);
	dns_put16(p + 2, q->qclass);
	p += 4;
	for (size_t i = 0; i < nan; i++) {
		dns_put_rr(p, &an[i]);
		p += dns_rr_len(&an[i]);
	}
	if (q->edns) {
		dns_put_opt(p, q, rcode);
		p += DNS_OPT_LEN;
	}
	return (int)(p - out);
}

/* Offset just after the question of a message with qdcount <= 1. */
static int dns_question_end(const uint8_t *buf, size_t len, size_t *end)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	size_t wire_len, off = DNS_HDR_LEN;
	uint16_t qd;

	if (len < DNS_HDR_LEN)
		return -EBADMSG;
	qd = dns_get16(buf + 4);
	if (qd > 1)
		return -EBADMSG;
	if (qd) {
		if (dns_name_unpack(buf, len, &off, wire, &wire_len) || len - off < 4)
			return -EBADMSG;
		off += 4;
	}
	*end = off;
	return 0;
}

/* Finds the OPT record of a message, if any; *opt_len = 0 when there is none. */
static void dns_find_opt(const uint8_t *buf, size_t len, size_t qend, size_t *opt_off,
			 size_t *opt_len)
{
	unsigned total = (unsigned)dns_get16(buf + 6) + dns_get16(buf + 8) + dns_get16(buf + 10);
	size_t off = qend;
	struct dns_rr_pos rr;

	*opt_len = 0;
	for (unsigned i = 0; i < total; i++) {
		if (dns_skip_rr(buf, len, &off, &rr))
			return;
		if (rr.type == DNS_TYPE_OPT && rr.root_owner) {
			*opt_off = rr.start;
			*opt_len = off - rr.start;
			return;
		}
	}
}

int dns_truncate(uint8_t *msg, size_t len, size_t max_len)
{
	size_t qend, opt_off = 0, opt_len;
	uint16_t flags;

	if (len <= max_len)
		return (int)len;
	if (dns_question_end(msg, len, &qend) || qend > max_len)
		return -EBADMSG;
	dns_find_opt(msg, len, qend, &opt_off, &opt_len);
	if (qend + opt_len > max_len)
		opt_len = 0;
	if (opt_len)
		memmove(msg + qend, msg + opt_off, opt_len);
	flags = dns_get16(msg + 2) | DNS_FLAG_TC;
	dns_put16(msg + 2, flags);
	dns_put16(msg + 6, 0);
	dns_put16(msg + 8, 0);
	dns_put16(msg + 10, opt_len ? 1 : 0);
	return (int)(qend + opt_len);
}

bool dns_answer_matches(const uint8_t *buf, size_t len, const struct dns_query *q)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	size_t wire_len, off = DNS_HDR_LEN;

	if (len < DNS_HDR_LEN || !(dns_get16(buf + 2) & DNS_FLAG_QR) || dns_get16(buf + 4) != 1)
		return false;
	if (dns_name_unpack(buf, len, &off, wire, &wire_len) || len - off < 4)
		return false;
	if (wire_len != q->qname_len || dns_get16(buf + off) != q->qtype ||
	    dns_get16(buf + off + 2) != q->qclass)
		return false;
	/* Label lengths are below 'A', so a case-blind compare of the whole wire is exact. */
	for (size_t i = 0; i < wire_len; i++)
		if (tolower(wire[i]) != tolower(q->qname[i]))
			return false;
	return true;
}

int dns_tcp_frame(const uint8_t *buf, size_t len, size_t *msg_len)
{
	size_t n;

	if (len < 2)
		return 0;
	n = dns_get16(buf);
	if (!n)
		return -EBADMSG;
	if (len - 2 < n)
		return 0;
	*msg_len = n;
	return 1;
}

int dns_reverse_name(int af, const void *addr, char *out, size_t len)
{
	const uint8_t *a = addr;
	size_t o = 0;
	int n;

	if (af == AF_INET) {
		n = snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return n > 0 && (size_t)n < len ? 0 : -ENOSPC;
	}
	if (af != AF_INET6)
		return -EAFNOSUPPORT;
	if (len < 32 * 2 + sizeof("ip6.arpa"))
		return -ENOSPC;
	for (int i = 15; i >= 0; i--) {
		o += (size_t)snprintf(out + o, len - o, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	}
	snprintf(out + o, len - o, "ip6.arpa");
	return 0;
}

static int dns_parse_reverse4(const char *name, size_t n, uint8_t *a)
{
	unsigned v[4];
	int used = 0;

	if (sscanf(name, "%3u.%3u.%3u.%3u.%n", &v[3], &v[2], &v[1], &v[0], &used) != 4 ||
	    (size_t)used != n)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (v[i] > 255)
			return -EINVAL;
		a[i] = (uint8_t)v[i];
	}
	/* Reject leading zeros and signs, which sscanf would accept. */
	char back[20];

	snprintf(back, sizeof(back), "%u.%u.%u.%u.", v[3], v[2], v[1], v[0]);
	return strncmp(back, name, n) ? -EINVAL : AF_INET;
}

static int dns_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int dns_parse_reverse6(const char *name, size_t n, uint8_t *a)
{
	if (n != 64)
		return -EINVAL;
	memset(a, 0, 16);
	for (int i = 0; i < 32; i++) {
		int v = dns_nibble(name[2 * i]);

		if (v < 0 || name[2 * i + 1] != '.')
			return -EINVAL;
		/* The first nibble is the low half of the last byte. */
		a[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	return AF_INET6;
}

int dns_parse_reverse(const char *name, void *addr)
{
	static const char s4[] = "in-addr.arpa", s6[] = "ip6.arpa";
	size_t n = strlen(name);

	if (n > sizeof(s4) - 1 && !strcmp(name + n - (sizeof(s4) - 1), s4))
		return dns_parse_reverse4(name, n - (sizeof(s4) - 1), addr);
	if (n > sizeof(s6) - 1 && !strcmp(name + n - (sizeof(s6) - 1), s6))
		return dns_parse_reverse6(name, n - (sizeof(s6) - 1), addr);
	return -EINVAL;
}
