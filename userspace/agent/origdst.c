/* origdst.c — recovers the original destination of an accepted connection from s46_conn. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "bpfload.h"
#include "origdst.h"

int origdst_key(struct s46_conn_key *k, uint64_t netns_cookie, const struct sockaddr *peer)
{
	memset(k, 0, sizeof(*k));
	k->netns_cookie = netns_cookie;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)peer;

		/* The BPF side keys IPv4 clients in v4-mapped form. */
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(k->addr + 12, &s->sin_addr, 4);
		k->port = s->sin_port;
		return 0;
	}
	if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)peer;

		memcpy(k->addr, &s->sin6_addr, 16);
		k->port = s->sin6_port;
		return 0;
	}
	return -EAFNOSUPPORT;
}

void origdst_sockaddr(const struct s46_dst *d, struct sockaddr_storage *ss, socklen_t *len)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	memset(ss, 0, sizeof(*ss));
	if (!memcmp(d->addr, mapped, sizeof(mapped))) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, d->addr + 12, 4);
		s->sin_port = d->port;
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, d->addr, 16);
		s->sin6_port = d->port;
		*len = sizeof(*s);
	}
}

int origdst_lookup(struct bpfload *b, uint64_t netns_cookie, const struct sockaddr *peer,
		   struct s46_conn_val *out)
{
	struct s46_conn_key k;
	int err;

	err = origdst_key(&k, netns_cookie, peer);
	if (err)
		return err;
	return bpfload_conn_take(b, &k, out);
}
