/* destpolicy.h — destinations the gateway refuses whatever the rules say: unspecified addresses,
 * its own listeners (proxy loops), its own host when it listens beyond loopback, odd numbers. */
#ifndef S46_DESTPOLICY_H
#define S46_DESTPOLICY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "listener.h"

struct netmon;

/*
 * The policy, checked on every address the gateway would connect or send to
 * (each address a name resolves to, each datagram's), after the access rules:
 *
 *   unspecified  0.0.0.0/8, ::, ::ffff:0.0.0.0/104: never a destination (the
 *                kernel would take 0.0.0.0 and :: for the host itself).
 *   loop         an address and port the gateway listens on (any address of the
 *                host for a wildcard listener): never, rules or not.
 *   own host     loopback, the host's addresses (netmon follows them) and
 *                unspecified: refused when some listener is not on loopback,
 *                unless the deciding rule names the host (rules_names_host).
 *
 * Names that look like numbers but are not canonical addresses ("127.1",
 * "0177.0.0.1", "0x7f.1", anything whose last label is a number) are refused
 * before any DNS query: no top-level domain is numeric, and inet_aton's readings
 * of them differ from the resolver's.
 */

enum destpolicy_why {
	DESTPOLICY_OK = 0,
	DESTPOLICY_UNSPECIFIED,
	DESTPOLICY_LOOP,
	DESTPOLICY_OWN_HOST,
	DESTPOLICY_NUMERIC_NAME, /* only from the caller: destpolicy_numeric_name */
};

struct destpolicy {
	struct sockaddr_storage listen[LISTENER_MAX]; /* the listeners' bound addresses */
	unsigned nlisten;
	bool exposed; /* a listener is not on loopback: the own-host refusal applies */
};

/* From the listening sockets (getsockname). Returns 0 or -errno. */
int destpolicy_init(struct destpolicy *p, const int *fds, unsigned nfds);

/* 0.0.0.0/8, :: or an IPv4-mapped 0.0.0.0/8. */
bool destpolicy_unspecified(const struct sockaddr *sa);
/* 127.0.0.0/8, ::1 or an IPv4-mapped 127.0.0.0/8. */
bool destpolicy_loopback(const struct sockaddr *sa);
/* A name whose last label (one trailing dot ignored) is decimal digits or 0x and hex digits. */
bool destpolicy_numeric_name(const char *name);

/*
 * Judges one destination (with its port). named: the deciding access rule names
 * the host (rules_check_addr returned 1). nm: the host's addresses (NULL: only
 * loopback and unspecified count as the host's).
 */
enum destpolicy_why destpolicy_check(const struct destpolicy *p, struct netmon *nm,
				     const struct sockaddr *dst, bool named);
/* Whether dst is one of the gateway's own listeners: for upstreams, which may be on the host. */
bool destpolicy_is_listener(const struct destpolicy *p, struct netmon *nm,
			    const struct sockaddr *dst);

/* Why, for the log: "unspecified address", ... */
const char *destpolicy_str(enum destpolicy_why why);
/* Logs a refusal (rate-limited with the rules' denials): who asked (client NULL and cmd 0:
 * an upstream), what and why. */
void destpolicy_log(enum destpolicy_why why, const struct sockaddr *client, unsigned cmd,
		    const char *name, const struct sockaddr *dst);

#endif
