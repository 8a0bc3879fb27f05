/* dstmatch.h — a destination selector, `to CIDR|.SUFFIX|NAME|*` and `port N|N-M`: one grammar,
 * one matcher, for the gateway's rules and routes and the agent's no-fake suffixes. */
#ifndef S46_DSTMATCH_H
#define S46_DSTMATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "prefix.h"

/*
 *   to CIDR     addresses inside the prefix (prefix_parse: a bare address is a host)
 *   to .SUFFIX  the name SUFFIX and every name under it (.example.com matches
 *               example.com and www.example.com)
 *   to NAME     exactly this name
 *   to *        any destination (as when `to` is left out)
 *   port N|N-M  a port or an inclusive range, 1-65535 (no `port`: any, 0 included)
 *
 * Names are matched without regard to case, and one trailing dot (the DNS
 * root) is ignored on either side. A NAME or SUFFIX must be 1-253 characters
 * of letters, digits, '-' and '_' in dot-separated labels that are not empty.
 */

enum dstmatch_kind {
	DSTMATCH_ANY = 0,
	DSTMATCH_PREFIX,
	DSTMATCH_SUFFIX,
	DSTMATCH_NAME,
};

struct dstmatch {
	enum dstmatch_kind kind;
	struct prefix prefix; /* DSTMATCH_PREFIX */
	char *name;	      /* SUFFIX, NAME: lower case, no leading or trailing dot */
	uint16_t port_lo, port_hi;
};

/* Any destination, any port. */
void dstmatch_init(struct dstmatch *m);
/* Frees what dstmatch_parse_to allocated; m is then as after dstmatch_init. NULL is fine. */
void dstmatch_clear(struct dstmatch *m);

/* The value of `to`. Returns 0, -EINVAL (not a CIDR, .SUFFIX, NAME or *) or -ENOMEM. */
int dstmatch_parse_to(struct dstmatch *m, const char *s);
/* The value of `port`. Returns 0 or -EINVAL. */
int dstmatch_parse_port(struct dstmatch *m, const char *s);

/*
 * Whether a destination is selected by m's `to`: name (NULL for an address
 * request) and/or addr (NULL while a name is not resolved). A prefix matches
 * only addr and names only name. Returns 1 or 0, or -1 when it cannot be told
 * yet: a prefix, a name and no address.
 */
int dstmatch_to(const struct dstmatch *m, const char *name, const struct sockaddr *addr);
/* Whether port (host order) is selected by m's `port`. */
bool dstmatch_port(const struct dstmatch *m, uint16_t port);

/* Whether name is suffix or a name under it; suffix may start with a dot. */
bool dstmatch_under(const char *name, const char *suffix);

#endif
