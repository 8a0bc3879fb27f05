/* fuzz_socks5.c — libFuzzer harness for the SOCKS5 handshake and request parsers, both roles. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s5client.h"
#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed request, built again, must parse back to the same request. */
static void fuzz_request_roundtrip(const struct socks5_request *r)
{
	uint8_t buf[SOCKS5_REQUEST_MAX];
	struct socks5_request again;
	int n = socks5_build_request(buf, r->cmd, &r->dst);

	if (n < 0 || socks5_parse_request(buf, (size_t)n, &again, NULL) != n)
		abort();
	if (again.cmd != r->cmd || again.dst.atyp != r->dst.atyp || again.dst.port != r->dst.port)
		abort();
	if (r->dst.atyp == SOCKS5_ATYP_DOMAINNAME && strcmp(again.dst.name, r->dst.name))
		abort();
}

/* Parses like the gateway does: greeting, optional auth, request, rest = stream bytes. */
static void fuzz_server(const uint8_t *data, size_t size)
{
	struct socks5_greeting g;
	struct socks5_auth a;
	struct socks5_request r;
	size_t off = 0;
	uint8_t rep = 0xee;
	int n;

	n = socks5_parse_greeting(data, size, &g);
	if (n <= 0)
		return;
	if ((size_t)n > size || g.nmethods == 0)
		abort();
	off += (size_t)n;
	if (memchr(g.methods, SOCKS5_METHOD_USERPASS, g.nmethods)) {
		n = socks5_parse_auth(data + off, size - off, &a);
		if (n <= 0)
			return;
		if (off + (size_t)n > size || strlen(a.user) == 0)
			abort();
		off += (size_t)n;
	}
	n = socks5_parse_request(data + off, size - off, &r, &rep);
	if (n > 0) {
		if (off + (size_t)n > size || rep != SOCKS5_REP_SUCCEEDED)
			abort();
		fuzz_request_roundtrip(&r);
		socks5_addr_unliteral(&r.dst);
	} else if (n < 0 && rep == SOCKS5_REP_SUCCEEDED) {
		abort(); /* every failure names a reply code to send */
	}
}

static void fuzz_client(const uint8_t *data, size_t size)
{
	struct socks5_udp_header h;
	struct socks5_addr bnd;
	uint8_t m, st, rep, out[SOCKS5_REPLY_MAX];
	char text[300];
	int n;

	socks5_parse_choice(data, size, &m);
	socks5_parse_auth_reply(data, size, &st);
	n = socks5_parse_reply(data, size, &rep, &bnd);
	if (n > 0) {
		if ((size_t)n > size)
			abort();
		socks5_addr_format(&bnd, text, sizeof(text));
		/* Rebuilt, it is as long, or one shorter (a name's trailing NUL is dropped). */
		if (socks5_build_reply_addr(out, rep, &bnd) + 1 < (size_t)n ||
		    socks5_build_reply_addr(out, rep, &bnd) > (size_t)n)
			abort();
	}
	/* The upstream client reads a reply in steps: never past its end, never stuck short. */
	if (n > 0) {
		for (size_t k = 0; k < (size_t)n; k++) {
			size_t need = s5client_reply_need(data, k);

			if (need == 0 || k + need > (size_t)n)
				abort();
		}
		if (s5client_reply_need(data, (size_t)n) != 0)
			abort();
	}
	n = socks5_parse_udp_header(data, size, &h);
	if (n == 0 || (n > 0 && (size_t)n > size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_server(data, size);
	fuzz_client(data, size);
	return 0;
}
