/* dnsq.h — DNS queries as clients send them, for the codec and responder tests. */
#ifndef S46_TEST_DNSQ_H
#define S46_TEST_DNSQ_H

#include <stdint.h>
#include <string.h>

#include "dns.h"

/* A query for name/type with id and RD set; edns_size != 0 appends an OPT record with that
 * UDP payload size and the DO bit. Returns its length (buf: 512 bytes are enough). */
static inline size_t dnsq_build(uint8_t *buf, uint16_t id, const char *name, uint16_t type,
				uint16_t edns_size)
{
	size_t off = DNS_HDR_LEN;
	int n;

	memset(buf, 0, DNS_HDR_LEN);
	dns_put16(buf, id);
	dns_put16(buf + 2, DNS_FLAG_RD);
	dns_put16(buf + 4, 1);
	n = dns_encode_name(name, buf + off, 300);
	assert_true(n > 0);
	off += (size_t)n;
	dns_put16(buf + off, type);
	dns_put16(buf + off + 2, DNS_CLASS_IN);
	off += 4;
	if (edns_size) {
		dns_put16(buf + 10, 1);
		buf[off] = 0;
		dns_put16(buf + off + 1, DNS_TYPE_OPT);
		dns_put16(buf + off + 3, edns_size);
		memset(buf + off + 5, 0, 6);
		buf[off + 7] = 0x80; /* DO */
		off += 11;
	}
	return off;
}

#endif
