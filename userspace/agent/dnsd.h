/* dnsd.h — the agent's fake-IP DNS responder on UDP and TCP. */
#ifndef S46_DNSD_H
#define S46_DNSD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

struct ev_loop;
struct fakeip;

/* The existence check: the callee calls done(ctx, 1) when name exists, done(ctx, 0) when it
 * does not (NXDOMAIN), done(ctx, -errno) when it cannot tell (the name is faked anyway),
 * exactly once, from inside exists() or later from the loop, unless dnsd cancels it first
 * with exists_cancel(arg, ctx) (timeout, dnsd_free). exists() returning -errno means the
 * same as done(ctx, -errno) and done must then not be called. */
typedef void dnsd_exists_done_fn(void *ctx, int result);
typedef int dnsd_exists_fn(void *arg, const char *name, dnsd_exists_done_fn *done, void *ctx);
typedef void dnsd_exists_cancel_fn(void *arg, void *ctx);

/* Agent options that map onto dnsd_config, for its option table:
 *   --dns-port PORT         listen4/listen6 port on 127.0.0.1 and ::1 (0 = any free one)
 *   --dns-upstream ADDR     upstream (addr_parse, default port 53); default: the first
 *                           nameserver of /etc/resolv.conf, see dnsd_upstream_from_resolv()
 *   --no-fake SUFFIX        no_fake, repeatable (dnsd_no_fake_add())
 *   --check-exists          check_exists
 *   --literal-suffix SUFFIX literal_suffix ("none": NULL) */
struct dnsd_config {
	/* Where the responder listens (loopback of the agent's namespace; the BPF programs
	 * steer port-53 traffic of attached cgroups here). Port 0 = pick one; read back with
	 * dnsd_port(). */
	struct sockaddr_storage listen4, listen6;
	/* The real resolver for names that are not faked and query types other than A/AAAA. */
	struct sockaddr_storage upstream;
	/* Names under it carry an IPv6 address (literal.h): A gets a fake address, AAAA the
	 * address itself, a malformed one NXDOMAIN. NULL: no such names. */
	const char *literal_suffix;
	/* Domain suffixes never faked (matched on label boundaries), NULL-terminated. */
	const char *const *no_fake;
	unsigned ttl_s;
	/* Mark set on the responder's upstream sockets so the BPF programs let them pass. */
	unsigned so_mark;
	/* How long to wait for the upstream resolver (and the existence check) before
	 * answering SERVFAIL; 0 = DNSD_TIMEOUT_MS. */
	unsigned timeout_ms;
	/* Optional: before faking a name, ask whether it exists at all (e.g. the gateway's
	 * RESOLVE extension) and answer NXDOMAIN when it does not. */
	bool check_exists;
	/* Optional: makes an upstream socket of family af and type (SOCK_DGRAM, SOCK_STREAM;
	 * non-blocking, close-on-exec), e.g. inside a container's network namespace, whose
	 * resolver only answers there. Returns it or -errno. NULL: socket(2) here. */
	int (*upstream_socket)(void *arg, int af, int type);
	void *upstream_arg;
	dnsd_exists_fn *exists;
	dnsd_exists_cancel_fn *exists_cancel;
	void *exists_arg;
};

#define DNSD_TIMEOUT_MS 3000

struct dnsd;

int dnsd_new(struct dnsd **out, struct ev_loop *loop, const struct dnsd_config *cfg,
	     struct fakeip *table);
void dnsd_free(struct dnsd *d);
/* Replaces the real resolver; queries under way finish with the previous one. */
void dnsd_set_upstream(struct dnsd *d, const struct sockaddr_storage *upstream);
/* Replaces the suffixes never faked (a reload); the list must outlive its use. */
void dnsd_set_no_fake(struct dnsd *d, const char *const *no_fake);
/* The port actually bound (same for UDP and TCP, IPv4 and IPv6). */
unsigned short dnsd_port(const struct dnsd *d);

struct dnsd_stats {
	unsigned long long queries, faked, forwarded, formerr, servfail;
};
void dnsd_get_stats(const struct dnsd *d, struct dnsd_stats *out);

/* Fills cfg with loopback listeners on port 0, no upstream, no exceptions, the fake-IP
 * default TTL, DNSD_TIMEOUT_MS and pseudo-names under LITERAL_SUFFIX_DEFAULT. */
void dnsd_config_default(struct dnsd_config *cfg);
/* Reads the first nameserver line of a resolv.conf file into out (port 53). Loopback
 * stub addresses work as long as the stub's own queries are not redirected.
 * Returns 0, -ENOENT when there is none, or -errno. */
int dnsd_upstream_from_resolv(const char *path, struct sockaddr_storage *out);
/* Appends a suffix to a growable NULL-terminated list (*list may start NULL; *n counts
 * entries). The suffix is kept as given; matching ignores case and dots at either end.
 * Returns 0, -EINVAL for an empty suffix, or -ENOMEM. */
int dnsd_no_fake_add(const char ***list, size_t *n, const char *suffix);
/* Whether dnsd fakes A/AAAA answers for name (presentation form): false for names under
 * no_fake, under the local domains (local, localhost, in-addr.arpa, ip6.arpa, home.arpa,
 * onion, invalid) and for single-label names. */
bool dnsd_fakeable(const struct dnsd_config *cfg, const char *name);

#endif
