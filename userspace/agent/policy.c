/* policy.c — parses and matches address prefixes (pools, --via-gateway). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static void policy_clear_host(unsigned char *a, unsigned bytes, unsigned len)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			a[i] &= (unsigned char)(0xff00 >> bits);
	}
}

int policy_parse(const char *s, struct policy_prefix *p)
{
	char buf[64], *slash, *end;
	unsigned long len;
	unsigned max;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->af = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	p->len = max;
	if (slash) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || len > max)
			return -EINVAL;
		p->len = (unsigned)len;
	}
	policy_clear_host(p->addr, max / 8, p->len);
	return 0;
}

bool policy_contains(const struct policy_prefix *p, int af, const void *addr)
{
	unsigned char a[16];
	unsigned bytes = af == AF_INET ? 4 : 16;

	if (af != p->af)
		return false;
	memcpy(a, addr, bytes);
	policy_clear_host(a, bytes, p->len);
	return !memcmp(a, p->addr, bytes);
}
