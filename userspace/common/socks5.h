/* socks5.h — the SOCKS5 (RFC 1928) and username/password (RFC 1929) wire codec, both roles. */
#ifndef S46_SOCKS5_H
#define S46_SOCKS5_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define SOCKS5_VER 0x05
#define SOCKS5_AUTH_VER 0x01 /* RFC 1929 sub-negotiation version */

#define SOCKS5_METHOD_NONE 0x00
#define SOCKS5_METHOD_GSSAPI 0x01
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_NO_ACCEPTABLE 0xFF

#define SOCKS5_CMD_CONNECT 0x01
#define SOCKS5_CMD_BIND 0x02
#define SOCKS5_CMD_UDP_ASSOCIATE 0x03
#define SOCKS5_CMD_RESOLVE 0xF0	    /* Tor extension: answer the name's address in BND.ADDR */
#define SOCKS5_CMD_RESOLVE_PTR 0xF1 /* Tor extension: answer the address's name in BND.ADDR */

#define SOCKS5_ATYP_IPV4 0x01
#define SOCKS5_ATYP_DOMAINNAME 0x03
#define SOCKS5_ATYP_IPV6 0x04

#define SOCKS5_REP_SUCCEEDED 0x00
#define SOCKS5_REP_GENERAL_FAILURE 0x01
#define SOCKS5_REP_NOT_ALLOWED 0x02
#define SOCKS5_REP_NET_UNREACHABLE 0x03
#define SOCKS5_REP_HOST_UNREACHABLE 0x04
#define SOCKS5_REP_CONN_REFUSED 0x05
#define SOCKS5_REP_TTL_EXPIRED 0x06
#define SOCKS5_REP_CMD_NOT_SUPPORTED 0x07
#define SOCKS5_REP_ATYP_NOT_SUPPORTED 0x08

#define SOCKS5_AUTH_SUCCESS 0x00
#define SOCKS5_AUTH_FAILURE 0x01

/* Largest messages on the wire, for sizing buffers. */
#define SOCKS5_GREETING_MAX (2 + 255)
#define SOCKS5_AUTH_MAX (3 + 255 + 255)
#define SOCKS5_REQUEST_MAX (4 + 1 + 255 + 2)
#define SOCKS5_REPLY_MAX SOCKS5_REQUEST_MAX
#define SOCKS5_UDP_HEADER_MAX (4 + 1 + 255 + 2)

/* A destination or bound address as it travels on the wire. */
struct socks5_addr {
	uint8_t atyp; /* SOCKS5_ATYP_* */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		char name[256]; /* DOMAINNAME, NUL-terminated here (1..255 bytes on the wire) */
	};
	uint16_t port; /* host order */
};

struct socks5_greeting {
	uint8_t nmethods;
	uint8_t methods[255];
};

struct socks5_auth {
	char user[256]; /* NUL-terminated, 1..255 bytes on the wire */
	char pass[256];
};

struct socks5_request {
	uint8_t cmd;
	struct socks5_addr dst;
};

struct socks5_udp_header {
	uint8_t frag;
	struct socks5_addr dst;
};

/*
 * Incremental parsers. Each takes the bytes received so far and returns the
 * number of bytes the message occupies (> 0; bytes after it belong to the next
 * message or to the relayed stream), 0 if more bytes are needed, or -EPROTO for
 * a malformed message. socks5_parse_request additionally returns -EOPNOTSUPP
 * (unknown command) or -EAFNOSUPPORT (unknown address type), both with *rep set
 * to the reply code to send before closing; *rep is also set for -EPROTO. rep
 * may be NULL.
 */
int socks5_parse_greeting(const uint8_t *buf, size_t len, struct socks5_greeting *g);
int socks5_parse_auth(const uint8_t *buf, size_t len, struct socks5_auth *a);
int socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *req, uint8_t *rep);

/* Server-side builders; each returns the number of bytes written to buf. */
size_t socks5_build_choice(uint8_t *buf, uint8_t method);
size_t socks5_build_auth_reply(uint8_t *buf, uint8_t status);
/* bnd NULL, or of an unknown family, is sent as IPv4 0.0.0.0:0. buf holds >= 22 bytes. */
size_t socks5_build_reply(uint8_t *buf, uint8_t rep, const struct sockaddr *bnd);
/* A reply carrying any socks5_addr (e.g. a name for RESOLVE_PTR). buf holds SOCKS5_REPLY_MAX. */
size_t socks5_build_reply_addr(uint8_t *buf, uint8_t rep, const struct socks5_addr *bnd);

/* Client-side builders; each returns the number of bytes written, or -EINVAL. */
int socks5_build_greeting(uint8_t *buf, const uint8_t *methods, size_t nmethods);
int socks5_build_auth(uint8_t *buf, const char *user, const char *pass);
int socks5_build_request(uint8_t *buf, uint8_t cmd, const struct socks5_addr *dst);

/* Client-side incremental parsers, same return convention as the server side. */
int socks5_parse_choice(const uint8_t *buf, size_t len, uint8_t *method);
int socks5_parse_auth_reply(const uint8_t *buf, size_t len, uint8_t *status);
int socks5_parse_reply(const uint8_t *buf, size_t len, uint8_t *rep, struct socks5_addr *bnd);

/*
 * UDP ASSOCIATE datagram header: RSV(2) FRAG ATYP DST.ADDR DST.PORT. A
 * datagram is complete, so the parser never returns 0: a truncated or RSV != 0
 * header is -EPROTO, an unknown ATYP -EAFNOSUPPORT.
 */
int socks5_parse_udp_header(const uint8_t *buf, size_t len, struct socks5_udp_header *h);
int socks5_build_udp_header(uint8_t *buf, uint8_t frag, const struct socks5_addr *dst);

/* Conversions between wire addresses and sockaddrs. */
/* IPv4/IPv6 only (v4-mapped IPv6 becomes IPv4); -EAFNOSUPPORT otherwise. */
int socks5_addr_from_sockaddr(struct socks5_addr *a, const struct sockaddr *sa);
/* IPv4/IPv6 only; -EAFNOSUPPORT for DOMAINNAME. Returns 0 or -errno; *len set. */
int socks5_addr_to_sockaddr(const struct socks5_addr *a, struct sockaddr_storage *ss,
			    socklen_t *len);
/* A DOMAINNAME holding an IP literal becomes that IPv4/IPv6 address in place. */
void socks5_addr_unliteral(struct socks5_addr *a);
/* Fills a DOMAINNAME address; -EINVAL for an empty or >255-byte name. */
int socks5_addr_set_name(struct socks5_addr *a, const char *name, uint16_t port);
/* "1.2.3.4:80", "[::1]:80" or "name:80". Always returns buf (>= 262 + 8 bytes is enough). */
char *socks5_addr_format(const struct socks5_addr *a, char *buf, size_t len);

/*
 * The one reply-code table. err is a positive errno value:
 *   0                                   → 0x00 succeeded
 *   EACCES, EPERM                       → 0x02 not allowed by ruleset
 *   ENETUNREACH, ENETDOWN               → 0x03 network unreachable
 *   EHOSTUNREACH, EHOSTDOWN, ENOENT,
 *   ENODATA, EADDRNOTAVAIL              → 0x04 host unreachable (ENOENT/ENODATA: the
 *                                          name does not exist / has no address)
 *   ECONNREFUSED                        → 0x05 connection refused
 *   ETIMEDOUT                           → 0x06 TTL expired (connect timed out)
 *   EOPNOTSUPP                          → 0x07 command not supported
 *   EAFNOSUPPORT                        → 0x08 address type not supported
 *   anything else                       → 0x01 general failure
 * A negative err is treated as its absolute value.
 */
uint8_t socks5_rep_from_errno(int err);
/* Short English text for a reply code, "unknown" for codes outside the table. */
const char *socks5_rep_str(uint8_t rep);

#endif
