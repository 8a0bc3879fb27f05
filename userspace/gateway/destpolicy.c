/* destpolicy.c — refuses unspecified, looping, own-host destinations and numeric-looking names. */
#include "destpolicy.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "netmon.h"
#include "prefix.h"
#include "rules.h"

int destpolicy_init(struct destpolicy *p, const int *fds, unsigned nfds)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < nfds && i < LISTENER_MAX; i++) {
		struct sockaddr_storage *ss = &p->listen[p->nlisten];
		socklen_t len = sizeof(*ss);

		if (getsockname(fds[i], (struct sockaddr *)ss, &len) < 0)
			return -errno;
		addr_unmap(ss);
		if (!destpolicy_loopback((struct sockaddr *)ss))
			p->exposed = true;
		p->nlisten++;
	}
	return 0;
}

bool destpolicy_unspecified(const struct sockaddr *sa)
{
	static const uint8_t zero[16];
	uint8_t b[16];
	int af = prefix_sa_bytes(sa, b);

	if (af == AF_INET)
		return b[0] == 0;
	return af == AF_INET6 && !memcmp(b, zero, 16);
}

bool destpolicy_loopback(const struct sockaddr *sa)
{
	static const uint8_t one[16] = {[15] = 1};
	uint8_t b[16];
	int af = prefix_sa_bytes(sa, b);

	if (af == AF_INET)
		return b[0] == 127;
	return af == AF_INET6 && !memcmp(b, one, 16);
}

bool destpolicy_numeric_name(const char *name)
{
	size_t n = strlen(name), start;
	bool hex;

	if (n && name[n - 1] == '.')
		n--;
	start = n;
	while (start && name[start - 1] != '.')
		start--;
	if (start == n)
		return false;
	/* WHATWG's "ends in a number": 0x alone counts, as browsers read it as 0. */
	hex = n - start >= 2 && name[start] == '0' && (name[start + 1] | 0x20) == 'x';
	for (size_t i = start + (hex ? 2 : 0); i < n; i++)
		if (hex ? !isxdigit((unsigned char)name[i]) : !isdigit((unsigned char)name[i]))
			return false;
	return true;
}

/* Whether dst is the host itself: loopback, unspecified, or one of its addresses. */
static bool destpolicy_own_host(struct netmon *nm, const struct sockaddr *dst)
{
	return destpolicy_loopback(dst) || destpolicy_unspecified(dst) || netmon_is_local(nm, dst);
}

bool destpolicy_is_listener(const struct destpolicy *p, struct netmon *nm,
			    const struct sockaddr *dst)
{
	for (unsigned i = 0; i < p->nlisten; i++) {
		const struct sockaddr *l = (const struct sockaddr *)&p->listen[i];
		struct sockaddr_storage d;

		if (addr_port(l) != addr_port(dst))
			continue;
		/* A wildcard listener answers on every address of the host, in both families. */
		if (destpolicy_unspecified(l)) {
			if (destpolicy_own_host(nm, dst))
				return true;
			continue;
		}
		memcpy(&d, dst, addr_sa_len(dst));
		addr_unmap(&d);
		if (addr_equal(l, (struct sockaddr *)&d))
			return true;
	}
	return false;
}

enum destpolicy_why destpolicy_check(const struct destpolicy *p, struct netmon *nm,
				     const struct sockaddr *dst, bool named)
{
	if (destpolicy_unspecified(dst))
		return DESTPOLICY_UNSPECIFIED;
	if (destpolicy_is_listener(p, nm, dst))
		return DESTPOLICY_LOOP;
	if (p->exposed && !named && destpolicy_own_host(nm, dst))
		return DESTPOLICY_OWN_HOST;
	return DESTPOLICY_OK;
}

const char *destpolicy_str(enum destpolicy_why why)
{
	switch (why) {
	case DESTPOLICY_UNSPECIFIED:
		return "unspecified address";
	case DESTPOLICY_LOOP:
		return "the gateway's own listener (proxy loop)";
	case DESTPOLICY_OWN_HOST:
		return "the gateway's own host, no rule names it";
	case DESTPOLICY_NUMERIC_NAME:
		return "a numeric name that is not an address";
	default:
		return "allowed";
	}
}

void destpolicy_log(enum destpolicy_why why, const struct sockaddr *client, unsigned cmd,
		    const char *name, const struct sockaddr *dst)
{
	char c[ADDR_STRLEN], d[ADDR_STRLEN], n[4 * 256 + 1];
	unsigned missed;

	if (!rules_log_budget(&missed))
		return;
	log_info("destination refused: %s client=%s cmd=%s name=%s addr=%s%s%.0u%s",
		 destpolicy_str(why), client ? addr_format_ip(client, c, sizeof(c)) : "-",
		 cmd ? rules_cmd_name(cmd) : "upstream", log_escape(name, n, sizeof(n)),
		 dst ? addr_format(dst, d, sizeof(d)) : "-", missed ? " (" : "", missed,
		 missed ? " more denials not logged)" : "");
}
