/* dnsd.h — the agent's fake-IP DNS responder on UDP and TCP. */
#ifndef S46_DNSD_H
#define S46_DNSD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

struct ev_loop;
struct fakeip;

struct dnsd_config {
	/* Where the responder listens (loopback of the agent's namespace; the BPF programs
	 * steer port-53 traffic of attached cgroups here). Port 0 = pick one; read back with
	 * dnsd_port(). */
	struct sockaddr_storage listen4, listen6;
	/* The real resolver for names that are not faked and query types other than A/AAAA. */
	struct sockaddr_storage upstream;
	/* Domain suffixes never faked (matched on label boundaries), NULL-terminated. */
	const char *const *no_fake;
	unsigned ttl_s;
	/* Mark set on the responder's upstream sockets so the BPF programs let them pass. */
	unsigned so_mark;
};

struct dnsd;

int dnsd_start(struct dnsd **out, struct ev_loop *loop, const struct dnsd_config *cfg,
	       struct fakeip *table);
void dnsd_stop(struct dnsd *d);
/* The port actually bound (same for UDP and TCP, IPv4 and IPv6). */
unsigned short dnsd_port(const struct dnsd *d);

struct dnsd_stats {
	unsigned long long queries, faked, forwarded, formerr, servfail;
};
void dnsd_get_stats(const struct dnsd *d, struct dnsd_stats *out);

#endif
