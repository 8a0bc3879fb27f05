/* fuzz_dns.c — libFuzzer harness for the DNS query parser and the reply paths fed from it. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t addr[16] = {0x20, 0x01, 0, 2};
	uint8_t out[DNS_TCP_MAX], *copy;
	struct dns_query q;
	struct dns_rr rr = {.type = DNS_TYPE_AAAA, .ttl = 1, .rdata = addr, .rdlen = 16};
	char name[DNS_NAME_TEXT_MAX] = "";
	size_t off = DNS_HDR_LEN, mlen;
	int err, n;

	err = dns_parse_query(data, size, &q);
	if (!err) {
		/* A parsed query must yield a reply that parses back to the same question. */
		n = dns_build_reply(out, sizeof(out), q.udp_size, &q, 0, &rr, 1);
		if (n < 0 || !dns_answer_matches(out, (size_t)n, &q) || (size_t)n > q.udp_size)
			abort();
		if (q.plain && q.name[0] && dns_encode_name(q.name, out, sizeof(out)) < 0)
			abort();
	} else if (err == -EBADMSG) {
		if (dns_build_header_reply(out, sizeof(out), &q.hdr, DNS_RCODE_FORMERR) != 12)
			abort();
	}
	if (dns_read_name(data, size, &off, name, sizeof(name), true) == 0) {
		if (strlen(name) >= sizeof(name))
			abort();
		dns_parse_reverse(name, out);
	}
	/* The same bytes as an upstream answer to be cut for a small client. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	n = dns_truncate(copy, size, 512);
	if (n > 0 && (size_t)n > (size > 512 ? 512 : size))
		abort();
	free(copy);
	dns_tcp_frame(data, size, &mlen);
	return 0;
}
