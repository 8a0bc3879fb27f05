/* s46bench.h — what s46bench and s46sink share: the request framing and HOST:PORT parsing. */
#ifndef S46BENCH_H
#define S46BENCH_H

#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define S46B_MAGIC "S46B"
#define S46B_HDR_LEN 16

/* The server reads N bytes, then answers with the 8-byte big-endian count it read. */
#define S46B_OP_SINK 1u
/* The server writes N bytes (request/response and download tests). */
#define S46B_OP_SEND 2u

/* UDP mode: the largest datagram s46bench sends and s46sink echoes. */
#define S46B_UDP_MAX 9000

struct s46b_hdr {
	char magic[4];
	uint32_t op; /* S46B_OP_*, big endian */
	uint64_t n;  /* byte count, big endian */
};

_Static_assert(sizeof(struct s46b_hdr) == S46B_HDR_LEN, "wire header is 16 bytes");

static inline void s46b_hdr_encode(uint8_t out[S46B_HDR_LEN], uint32_t op, uint64_t n)
{
	struct s46b_hdr h;

	memcpy(h.magic, S46B_MAGIC, 4);
	h.op = htobe32(op);
	h.n = htobe64(n);
	memcpy(out, &h, sizeof(h));
}

/* Returns 0 and fills op and n, or -1 when the bytes are not a header. */
static inline int s46b_hdr_decode(const uint8_t in[S46B_HDR_LEN], uint32_t *op, uint64_t *n)
{
	struct s46b_hdr h;

	memcpy(&h, in, sizeof(h));
	if (memcmp(h.magic, S46B_MAGIC, 4))
		return -1;
	*op = be32toh(h.op);
	*n = be64toh(h.n);
	if (*op != S46B_OP_SINK && *op != S46B_OP_SEND)
		return -1;
	return 0;
}

/*
 * Splits "HOST:PORT" or "[V6]:PORT" into host and port strings (host at most hostlen - 1 bytes).
 * Returns 0 or -EINVAL.
 */
static inline int s46b_split_hostport(const char *s, char *host, size_t hostlen, char *port,
				      size_t portlen)
{
	const char *colon, *h = s;
	size_t n;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) == 0 || strlen(colon + 1) >= portlen)
		return -EINVAL;
	/* Numeric only: getaddrinfo would take 99999 and quietly truncate it to 16 bits. */
	char *end;
	unsigned long port_num = strtoul(colon + 1, &end, 10);

	if (*end || port_num == 0 || port_num > 65535)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* Resolves "HOST:PORT" with getaddrinfo (names too: the whole-path test asks for fake addresses).
 */
static inline int s46b_resolve(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char host[256], port[16];
	int err;

	if (s46b_split_hostport(s, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "'%s' is not HOST:PORT or [V6]:PORT with a port 1-65535\n", s);
		return -EINVAL;
	}
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		fprintf(stderr, "%s: %s\n", s, gai_strerror(err));
		return -ENOENT;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Thousands of connections need descriptors: take the soft limit up to the hard one. */
static inline void s46b_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif
