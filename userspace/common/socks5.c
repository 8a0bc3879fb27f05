/* socks5.c — SOCKS5 / RFC 1929 message parsers and builders, the reply-code table. */
#include "socks5.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Version ver, then a byte (an answer, or a length). A wrong version is malformed at once. */
static int socks5_parse_pair(const uint8_t *buf, size_t len, uint8_t ver, uint8_t *value)
{
	if (len < 1)
		return 0;
	if (buf[0] != ver)
		return -EPROTO;
	if (len < 2)
		return 0;
	*value = buf[1];
	return 2;
}

int socks5_parse_greeting(const uint8_t *buf, size_t len, struct socks5_greeting *g)
{
	uint8_t nmethods = 0;
	int ret = socks5_parse_pair(buf, len, SOCKS5_VER, &nmethods);
	size_t n = nmethods;

	if (ret <= 0)
		return ret;
	if (n == 0)
		return -EPROTO;
	if (len < 2 + n)
		return 0;
	g->nmethods = nmethods;
	memcpy(g->methods, buf + 2, n);
	return (int)(2 + n);
}

/* Copies a length-prefixed string that must not contain NUL bytes. */
static int socks5_copy_str(char *dst, const uint8_t *src, size_t n)
{
	if (memchr(src, '\0', n))
		return -EPROTO;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int socks5_parse_auth(const uint8_t *buf, size_t len, struct socks5_auth *a)
{
	uint8_t ulen8 = 0;
	int ret = socks5_parse_pair(buf, len, SOCKS5_AUTH_VER, &ulen8);
	size_t ulen = ulen8, plen;

	if (ret <= 0)
		return ret;
	if (ulen == 0)
		return -EPROTO;
	if (len < 2 + ulen + 1)
		return 0;
	/* RFC 1929 says PLEN >= 1; an empty password is accepted and simply fails to match. */
	plen = buf[2 + ulen];
	if (len < 3 + ulen + plen)
		return 0;
	if (socks5_copy_str(a->user, buf + 2, ulen) < 0 ||
	    socks5_copy_str(a->pass, buf + 3 + ulen, plen) < 0)
		return -EPROTO;
	return (int)(3 + ulen + plen);
}

/*
 * ATYP ADDR PORT at buf. Returns bytes used, 0 for more, -EAFNOSUPPORT or
 * -EPROTO. A DOMAINNAME may carry one trailing NUL (some clients send a C
 * string); any other NUL, or an empty name, is malformed.
 */
static int socks5_parse_addr(const uint8_t *buf, size_t len, struct socks5_addr *a)
{
	size_t alen, n;

	if (len < 1)
		return 0;
	switch (buf[0]) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		break;
	case SOCKS5_ATYP_DOMAINNAME:
		if (len < 2)
			return 0;
		if (buf[1] == 0)
			return -EPROTO;
		alen = 1 + (size_t)buf[1];
		break;
	default:
		return -EAFNOSUPPORT;
	}
	if (len < 1 + alen + 2)
		return 0;
	a->atyp = buf[0];
	if (a->atyp == SOCKS5_ATYP_IPV4) {
		memcpy(&a->v4, buf + 1, 4);
	} else if (a->atyp == SOCKS5_ATYP_IPV6) {
		memcpy(&a->v6, buf + 1, 16);
	} else {
		n = alen - 1;
		if (buf[1 + n] == '\0')
			n--;
		if (n == 0 || socks5_copy_str(a->name, buf + 2, n) < 0)
			return -EPROTO;
	}
	a->port = (uint16_t)(buf[1 + alen] << 8 | buf[2 + alen]);
	return (int)(1 + alen + 2);
}

static int socks5_cmd_known(uint8_t cmd)
{
	return cmd == SOCKS5_CMD_CONNECT || cmd == SOCKS5_CMD_BIND ||
	       cmd == SOCKS5_CMD_UDP_ASSOCIATE || cmd == SOCKS5_CMD_RESOLVE ||
	       cmd == SOCKS5_CMD_RESOLVE_PTR;
}

/* RSV is accepted whatever its value: RFC 1928 gives it no meaning, and rejecting costs interop. */
int socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *req, uint8_t *rep)
{
	uint8_t dummy;
	int n;

	if (!rep)
		rep = &dummy;
	*rep = SOCKS5_REP_GENERAL_FAILURE;
	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VER)
		return -EPROTO;
	if (len < 2)
		return 0;
	if (!socks5_cmd_known(buf[1])) {
		*rep = SOCKS5_REP_CMD_NOT_SUPPORTED;
		return -EOPNOTSUPP;
	}
	if (len < 3)
		return 0;
	n = socks5_parse_addr(buf + 3, len - 3, &req->dst);
	if (n == -EAFNOSUPPORT)
		*rep = SOCKS5_REP_ATYP_NOT_SUPPORTED;
	if (n <= 0)
		return n;
	req->cmd = buf[1];
	*rep = SOCKS5_REP_SUCCEEDED;
	return 3 + n;
}

size_t socks5_build_choice(uint8_t *buf, uint8_t method)
{
	buf[0] = SOCKS5_VER;
	buf[1] = method;
	return 2;
}

size_t socks5_build_auth_reply(uint8_t *buf, uint8_t status)
{
	buf[0] = SOCKS5_AUTH_VER;
	buf[1] = status;
	return 2;
}

/* Writes ATYP ADDR PORT; the address must be valid (names 1..255 bytes). */
static size_t socks5_put_addr(uint8_t *buf, const struct socks5_addr *a)
{
	size_t n;

	buf[0] = a->atyp;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		memcpy(buf + 1, &a->v4, 4);
		n = 5;
		break;
	case SOCKS5_ATYP_IPV6:
		memcpy(buf + 1, &a->v6, 16);
		n = 17;
		break;
	default:
		buf[1] = (uint8_t)strnlen(a->name, 255);
		memcpy(buf + 2, a->name, buf[1]);
		n = 2 + (size_t)buf[1];
		break;
	}
	buf[n] = (uint8_t)(a->port >> 8);
	buf[n + 1] = (uint8_t)a->port;
	return n + 2;
}

size_t socks5_build_reply_addr(uint8_t *buf, uint8_t rep, const struct socks5_addr *bnd)
{
	buf[0] = SOCKS5_VER;
	buf[1] = rep;
	buf[2] = 0;
	return 3 + socks5_put_addr(buf + 3, bnd);
}

size_t socks5_build_reply(uint8_t *buf, uint8_t rep, const struct sockaddr *bnd)
{
	struct socks5_addr a = {.atyp = SOCKS5_ATYP_IPV4};

	if (bnd)
		socks5_addr_from_sockaddr(&a, bnd);
	return socks5_build_reply_addr(buf, rep, &a);
}

int socks5_build_greeting(uint8_t *buf, const uint8_t *methods, size_t nmethods)
{
	if (nmethods == 0 || nmethods > 255)
		return -EINVAL;
	buf[0] = SOCKS5_VER;
	buf[1] = (uint8_t)nmethods;
	memcpy(buf + 2, methods, nmethods);
	return (int)(2 + nmethods);
}

int socks5_build_auth(uint8_t *buf, const char *user, const char *pass)
{
	size_t ulen = strlen(user), plen = strlen(pass);

	if (ulen == 0 || ulen > 255 || plen > 255)
		return -EINVAL;
	buf[0] = SOCKS5_AUTH_VER;
	buf[1] = (uint8_t)ulen;
	memcpy(buf + 2, user, ulen);
	buf[2 + ulen] = (uint8_t)plen;
	memcpy(buf + 3 + ulen, pass, plen);
	return (int)(3 + ulen + plen);
}

static int socks5_addr_valid(const struct socks5_addr *a)
{
	if (a->atyp == SOCKS5_ATYP_IPV4 || a->atyp == SOCKS5_ATYP_IPV6)
		return 1;
	if (a->atyp != SOCKS5_ATYP_DOMAINNAME)
		return 0;
	return a->name[0] != '\0' && strnlen(a->name, sizeof(a->name)) <= 255;
}

int socks5_build_request(uint8_t *buf, uint8_t cmd, const struct socks5_addr *dst)
{
	if (!socks5_addr_valid(dst))
		return -EINVAL;
	buf[0] = SOCKS5_VER;
	buf[1] = cmd;
	buf[2] = 0;
	return (int)(3 + socks5_put_addr(buf + 3, dst));
}

int socks5_parse_choice(const uint8_t *buf, size_t len, uint8_t *method)
{
	return socks5_parse_pair(buf, len, SOCKS5_VER, method);
}

int socks5_parse_auth_reply(const uint8_t *buf, size_t len, uint8_t *status)
{
	return socks5_parse_pair(buf, len, SOCKS5_AUTH_VER, status);
}

int socks5_parse_reply(const uint8_t *buf, size_t len, uint8_t *rep, struct socks5_addr *bnd)
{
	int n;

	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VER)
		return -EPROTO;
	if (len < 3)
		return 0;
	n = socks5_parse_addr(buf + 3, len - 3, bnd);
	if (n < 0)
		return -EPROTO;
	if (n == 0)
		return 0;
	*rep = buf[1];
	return 3 + n;
}

/* A datagram is complete by definition: truncation is malformed, not "need more". */
int socks5_parse_udp_header(const uint8_t *buf, size_t len, struct socks5_udp_header *h)
{
	int n;

	if (len < 4)
		return -EPROTO;
	if (buf[0] || buf[1])
		return -EPROTO;
	n = socks5_parse_addr(buf + 3, len - 3, &h->dst);
	if (n == 0)
		return -EPROTO;
	if (n < 0)
		return n;
	h->frag = buf[2];
	return 3 + n;
}

int socks5_build_udp_header(uint8_t *buf, uint8_t frag, const struct socks5_addr *dst)
{
	if (!socks5_addr_valid(dst))
		return -EINVAL;
	buf[0] = 0;
	buf[1] = 0;
	buf[2] = frag;
	return (int)(3 + socks5_put_addr(buf + 3, dst));
}

int socks5_addr_from_sockaddr(struct socks5_addr *a, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, addr_sa_len(sa));
	addr_unmap(&ss);
	if (ss.ss_family == AF_INET) {
		a->atyp = SOCKS5_ATYP_IPV4;
		a->v4 = ((struct sockaddr_in *)&ss)->sin_addr;
	} else {
		a->atyp = SOCKS5_ATYP_IPV6;
		a->v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr;
	}
	a->port = addr_port((struct sockaddr *)&ss);
	return 0;
}

int socks5_addr_to_sockaddr(const struct socks5_addr *a, struct sockaddr_storage *ss,
			    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->atyp == SOCKS5_ATYP_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = a->v4;
		sin->sin_port = htons(a->port);
	} else if (a->atyp == SOCKS5_ATYP_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a->v6;
		sin6->sin6_port = htons(a->port);
	} else {
		return -EAFNOSUPPORT;
	}
	if (len)
		*len = addr_len(ss->ss_family);
	return 0;
}

void socks5_addr_unliteral(struct socks5_addr *a)
{
	struct in6_addr v6;
	struct in_addr v4;

	if (a->atyp != SOCKS5_ATYP_DOMAINNAME)
		return;
	if (inet_pton(AF_INET, a->name, &v4) == 1) {
		a->atyp = SOCKS5_ATYP_IPV4;
		a->v4 = v4;
	} else if (inet_pton(AF_INET6, a->name, &v6) == 1) {
		a->atyp = SOCKS5_ATYP_IPV6;
		a->v6 = v6;
	} else if (a->name[0] == '[') {
		/* "[2001:db8::1]" as a name: strip the brackets URL syntax adds. */
		char tmp[256];
		size_t n = strlen(a->name);

		if (n < 3 || a->name[n - 1] != ']')
			return;
		memcpy(tmp, a->name + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &v6) == 1) {
			a->atyp = SOCKS5_ATYP_IPV6;
			a->v6 = v6;
		}
	}
}

int socks5_addr_set_name(struct socks5_addr *a, const char *name, uint16_t port)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return -EINVAL;
	a->atyp = SOCKS5_ATYP_DOMAINNAME;
	memcpy(a->name, name, n + 1);
	a->port = port;
	return 0;
}

char *socks5_addr_format(const struct socks5_addr *a, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (a->atyp == SOCKS5_ATYP_DOMAINNAME)
		snprintf(buf, len, "%s:%u", a->name, a->port);
	else if (socks5_addr_to_sockaddr(a, &ss, NULL) == 0)
		addr_format((struct sockaddr *)&ss, buf, len);
	else
		snprintf(buf, len, "?");
	return buf;
}

uint8_t socks5_rep_from_errno(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return SOCKS5_REP_SUCCEEDED;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	case ENETUNREACH:
	case ENETDOWN:
		return SOCKS5_REP_NET_UNREACHABLE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ENOENT:
	case ENODATA:
	case EADDRNOTAVAIL:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case ECONNREFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case EOPNOTSUPP:
		return SOCKS5_REP_CMD_NOT_SUPPORTED;
	case EAFNOSUPPORT:
		return SOCKS5_REP_ATYP_NOT_SUPPORTED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

const char *socks5_rep_str(uint8_t rep)
{
	static const char *const names[] = {
	    "succeeded",	   "general failure",	    "not allowed by ruleset",
	    "network unreachable", "host unreachable",	    "connection refused",
	    "TTL expired",	   "command not supported", "address type not supported",
	};

	return rep < sizeof(names) / sizeof(names[0]) ? names[rep] : "unknown";
}
