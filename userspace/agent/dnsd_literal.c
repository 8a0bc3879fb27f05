/* dnsd_literal.c — names the responder answers itself: IPv6-literal pseudo-names and the DoH
 * canary. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "dnsd_int.h"
#include "literal.h"

/* Firefox turns its own DNS-over-HTTPS off when this name does not resolve: programs keep
 * asking the system resolver, which is what gives them fake addresses. */
#define DNSD_DOH_CANARY "use-application-dns.net"

/* A: a fake IPv4 address (the gateway gets the IPv6 address behind it, see target_of);
 * AAAA: the address itself, which an IPv6-capable program reaches as any other; other
 * types: no data. A zone names an interface of this host, useless to the gateway. */
static void dnsd_literal_reply(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q,
			       const struct in6_addr *addr, const char *zone)
{
	struct dns_rr rr = {.type = DNS_TYPE_AAAA, .ttl = dnsd_ttl(d), .rdata = addr, .rdlen = 16};

	if (zone[0])
		dnsd_reply(d, c, q, DNS_RCODE_NXDOMAIN, NULL, 0);
	else if (q->qtype == DNS_TYPE_A)
		dnsd_answer_fake(d, c, q);
	else if (q->qtype == DNS_TYPE_AAAA)
		dnsd_reply(d, c, q, DNS_RCODE_NOERROR, &rr, 1);
	else
		dnsd_reply(d, c, q, DNS_RCODE_NOERROR, NULL, 0);
}

bool dnsd_literal_answer(struct dnsd *d, struct dnsd_client *c, const struct dns_query *q)
{
	char zone[LITERAL_ZONE_MAX + 1];
	struct in6_addr addr;
	int err;

	if (!strcmp(q->name, DNSD_DOH_CANARY)) {
		dnsd_reply(d, c, q, DNS_RCODE_NXDOMAIN, NULL, 0);
		return true;
	}
	err = literal_parse(q->name, d->cfg.literal_suffix, &addr, zone);
	if (err == -ENOENT)
		return false;
	if (err)
		dnsd_reply(d, c, q, DNS_RCODE_NXDOMAIN, NULL, 0);
	else
		dnsd_literal_reply(d, c, q, &addr, zone);
	return true;
}
