/* fuzz_udp.c — libFuzzer harness for the SOCKS5 UDP datagram header parser and the access rules
 * parser. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/rules.h"
#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed header, rebuilt and parsed again, gives the same destination and length. */
static void fuzz_udp_roundtrip(const uint8_t *data, size_t size)
{
	struct socks5_udp_header h, h2;
	uint8_t out[SOCKS5_UDP_HEADER_MAX];
	int n = socks5_parse_udp_header(data, size, &h), m;

	if (n == 0 || (n > 0 && (size_t)n > size))
		abort(); /* a datagram is complete: never "need more" */
	if (n < 0)
		return;
	m = socks5_build_udp_header(out, h.frag, &h.dst);
	if (m < 0) {
		/* Only a name the builder refuses (an embedded NUL shortens it to empty) may fail.
		 */
		if (h.dst.atyp != SOCKS5_ATYP_DOMAINNAME || h.dst.name[0])
			abort();
		return;
	}
	if (socks5_parse_udp_header(out, (size_t)m, &h2) != m || h2.frag != h.frag ||
	    h2.dst.atyp != h.dst.atyp || h2.dst.port != h.dst.port)
		abort();
	if (h.dst.atyp == SOCKS5_ATYP_DOMAINNAME
		? strcmp(h.dst.name, h2.dst.name)
		: memcmp(&h.dst.v6, &h2.dst.v6, h.dst.atyp == SOCKS5_ATYP_IPV4 ? 4 : 16))
		abort();
	if (h.dst.atyp != SOCKS5_ATYP_DOMAINNAME && m != n)
		abort();
}

/* The same bytes as a `rule` line: parsed or refused, then checked against the header's dst. */
static void fuzz_udp_rule(const uint8_t *data, size_t size)
{
	struct socks5_udp_header h;
	struct rules *r = NULL;
	char text[512], err[256];
	struct sockaddr_in6 client = {.sin6_family = AF_INET6};

	if (rules_new(&r) < 0)
		return;
	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	if (rules_add(r, text, NULL, 0, err, sizeof(err)) < 0 && rules_count(r))
		abort();
	if (socks5_parse_udp_header(data, size, &h) > 0) {
		socks5_addr_unliteral(&h.dst);
		rules_check_request(r, (struct sockaddr *)&client, NULL, SOCKS5_CMD_UDP_ASSOCIATE,
				    &h.dst);
	}
	rules_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_udp_roundtrip(data, size);
	fuzz_udp_rule(data, size);
	return 0;
}
