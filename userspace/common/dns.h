/* dns.h — DNS message codec: query parsing with strict bounds, reply building, TCP framing. */
#ifndef S46_DNS_H
#define S46_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
/* RFC 1035 §2.3.4: 255 octets on the wire, so at most 253 characters of text. */
#define DNS_NAME_WIRE_MAX 255
#define DNS_NAME_TEXT_MAX 254
/* Without EDNS0 a UDP answer must fit 512 octets (RFC 1035 §4.2.1). */
#define DNS_UDP_MIN 512
/* What we advertise and honour at most over UDP (the DNS flag day 2020 value). */
#define DNS_UDP_MAX 1232
#define DNS_TCP_MAX 65535

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	/* Extended (EDNS0) code: 4 high bits in the OPT TTL, 4 low in the header. */
	DNS_RCODE_BADVERS = 16,
};

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_SVCB = 64,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1

/* Header flag bits (host order of the 16-bit flags word). */
#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_AA 0x0400u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_FLAG_RA 0x0080u
#define DNS_FLAG_AD 0x0020u
#define DNS_FLAG_CD 0x0010u
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define DNS_RCODE(flags) ((flags)&0xfu)

struct dns_header {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct dns_query {
	struct dns_header hdr;
	/* The question name in presentation form, lower case, no trailing dot ("" = root). */
	char name[DNS_NAME_TEXT_MAX];
	/* The same name uncompressed in wire form with its original case, echoed in replies
	 * (resolvers that randomise case, draft-vixie-dnsext-dns0x20, compare it). */
	uint8_t qname[DNS_NAME_WIRE_MAX];
	size_t qname_len;
	/* False when a label holds a dot, a space or a byte outside printable ASCII: such names
	 * cannot be carried as a SOCKS domain name and are never faked. */
	bool plain;
	uint16_t qtype, qclass;
	bool edns;
	uint8_t edns_version;
	bool edns_do;
	/* The largest reply the client accepts over UDP: 512 without EDNS0, else its
	 * advertised payload size clamped to [512, DNS_UDP_MAX]. */
	uint16_t udp_size;
};

/* Reads the fixed header. Returns 0 or -EMSGSIZE if buf is shorter than a header. */
int dns_parse_header(const uint8_t *buf, size_t len, struct dns_header *h);

/* Parses a query: exactly one question, an optional OPT record in the additional section,
 * nothing after the records the counts announce. Returns 0, -EMSGSIZE when no header can
 * be read (drop it), -EBADMSG when the rest is malformed (answer FORMERR), -EINVAL for a
 * response (QR set: drop), -EOPNOTSUPP for an opcode other than QUERY (answer NOTIMP).
 * On every error but -EMSGSIZE q->hdr holds the header. */
int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q);

/* Reads a possibly compressed name at *off into presentation form (lower-cased when
 * lower), advancing *off past it. Pointers must point backwards. Returns 0 or -EBADMSG. */
int dns_read_name(const uint8_t *buf, size_t len, size_t *off, char *out, size_t outlen,
		  bool lower);

/* Encodes a presentation-form name ("a.b", trailing dot optional) in wire form.
 * Returns the wire length or -EINVAL. */
int dns_encode_name(const char *name, uint8_t *out, size_t cap);

/* One record of an answer we build; its owner is always the question name. */
struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	const void *rdata; /* A: 4 bytes, AAAA: 16, PTR: a name in wire form */
	uint16_t rdlen;
};

/* Builds the reply to q: ID, question (as asked) and RD echoed, QR and RA set, rcode,
 * the answers, and an OPT record when q had one. When the answers do not fit in max_len
 * (the client's UDP size, or DNS_TCP_MAX) they are left out and TC is set. Returns the
 * message length or -ENOBUFS when not even the question fits in cap. */
int dns_build_reply(uint8_t *out, size_t cap, size_t max_len, const struct dns_query *q,
		    unsigned rcode, const struct dns_rr *an, size_t nan);

/* Reply for a message whose header could be read but not the rest: header only, the
 * ID and RD echoed, no question. Returns DNS_HDR_LEN or -ENOBUFS. */
int dns_build_header_reply(uint8_t *out, size_t cap, const struct dns_header *h, unsigned rcode);

/* Makes an upstream answer fit a client that accepts at most max_len bytes: when it is
 * longer, keeps the header and question, drops the records and sets TC. Returns the new
 * length, or -EBADMSG if the answer's question cannot be read. */
int dns_truncate(uint8_t *msg, size_t len, size_t max_len);

/* Whether an upstream answer answers q: same question name (any case), type and class. */
bool dns_answer_matches(const uint8_t *buf, size_t len, const struct dns_query *q);

static inline uint16_t dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* TCP framing (RFC 1035 §4.2.2): a 2-byte big-endian length before each message.
 * dns_tcp_frame returns 1 when buf starts with a complete message (its *msg_len bytes
 * start at buf + 2), 0 when more bytes are needed, or -EBADMSG for a zero length. */
int dns_tcp_frame(const uint8_t *buf, size_t len, size_t *msg_len);
/* Writes the prefix for a message of len bytes into out[0..1]. */
static inline void dns_tcp_prefix(uint8_t *out, size_t len)
{
	dns_put16(out, (uint16_t)len);
}

/* The reverse-zone name of an address (af AF_INET: "d.c.b.a.in-addr.arpa"; AF_INET6:
 * nibbles ".ip6.arpa"), and the address back from such a name. */
int dns_reverse_name(int af, const void *addr, char *out, size_t len);
/* Returns the family (AF_INET/AF_INET6) and fills addr, or -EINVAL when name is not a
 * complete reverse name of an address. */
int dns_parse_reverse(const char *name, void *addr);

#endif
