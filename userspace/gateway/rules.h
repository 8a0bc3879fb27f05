/* rules.h — the gateway's first-match allow/deny access rules: syntax, parsing, matching. */
#ifndef S46_RULES_H
#define S46_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5.h"

/*
 * One rule a line, in the config file (`rule ...`) or as `--rule '...'`:
 *
 *   rule allow|deny [from CIDR] [user NAME] [cmd CMD[,CMD...]]
 *                   [to CIDR|.SUFFIX|NAME] [port N|N-M]
 *
 *   from CIDR   the client's address: 198.51.100.0/24, 2001:db8::/32, or one
 *               address (a /32 or /128); IPv4 clients on an IPv6 listener match
 *               IPv4 CIDRs.
 *   user NAME   the RFC 1929 user name; `user -` matches clients that did not
 *               authenticate.
 *   cmd         connect, bind, udp (UDP ASSOCIATE and every datagram it
 *               carries), resolve (RESOLVE and RESOLVE_PTR).
 *   to CIDR     destination addresses; a name is checked against it after it
 *               is resolved, address by address (a denied address is never
 *               connected to or sent to).
 *   to .SUFFIX  the name SUFFIX and every name under it (.example.com matches
 *               example.com and www.example.com); names only.
 *   to NAME     exactly this name (case-insensitive, one trailing dot ignored).
 *   to *        any destination.
 *   port N|N-M  destination port or inclusive range, 1-65535.
 *
 * `to` and `port` are dstmatch.h's grammar, the same as for routes.
 *
 * A condition that is left out matches anything. Rules are tried in order and
 * the first whose conditions all hold decides; with no rule matching, the
 * request is allowed (the default listen addresses are loopback-only, so an
 * empty rule set never opens a proxy to the network). A request for a name is
 * checked before any DNS query: rules up to the first `to CIDR` rule that the
 * name cannot be judged by yet decide at once; past that, each resolved address
 * is checked with the name and the address together.
 *
 * Past the rules, destpolicy.h refuses what no rule can allow (unspecified
 * addresses, the gateway's own listeners) and, when the gateway listens beyond
 * loopback, its own host unless the allowing rule names it (rules_names_host).
 */

#define RULES_CMD_CONNECT 0x1u
#define RULES_CMD_BIND 0x2u
#define RULES_CMD_UDP 0x4u
#define RULES_CMD_RESOLVE 0x8u

enum rules_action {
	RULES_ALLOW = 0,
	RULES_DENY = 1,
	RULES_DEFER = 2, /* only from rules_check: decide per resolved address */
};

struct rule;
struct rules;

/* What is asked: client, user, command and destination (name and/or address). */
struct rules_req {
	const struct sockaddr *client; /* IPv4-mapped IPv6 is treated as IPv4 */
	const char *user;	       /* NULL: no authentication */
	unsigned cmd;		       /* one RULES_CMD_* bit */
	const char *name;	       /* destination name, NULL for an address */
	const struct sockaddr *addr;   /* destination address, NULL while only a name is known */
	uint16_t port;		       /* destination port, host order */
};

/* An empty set (allows everything). NULL on -ENOMEM. */
int rules_new(struct rules **out);
void rules_free(struct rules *r);
size_t rules_count(const struct rules *r);

/*
 * Parses the text after `rule` and appends it. file and line say where it came
 * from, for the log line of a denial (file NULL: the command line). Returns 0,
 * or -EINVAL / -ENOMEM with a message in err.
 */
int rules_add(struct rules *r, const char *text, const char *file, unsigned line, char *err,
	      size_t errlen);

/*
 * First match for req. Returns RULES_ALLOW or RULES_DENY, or RULES_DEFER when
 * req has a name and no address and a `to CIDR` rule is reached first. *hit is
 * set to the deciding rule (NULL: none matched, default allow, or deferred).
 */
enum rules_action rules_check(const struct rules *r, const struct rules_req *req,
			      const struct rule **hit);

/*
 * The gateway's two checkpoints; both log a denial with the rule's place.
 * rules_check_request: a parsed request (dst after socks5_addr_unliteral).
 * Returns 0 (allowed), 1 (a name to check again per address), or -EACCES.
 * rules_check_addr: one resolved address of name (or a datagram's address).
 * Returns 0 (allowed), 1 (allowed by a rule that names the host explicitly,
 * rules_names_host), or -EACCES.
 */
int rules_check_request(const struct rules *r, const struct sockaddr *client, const char *user,
			uint8_t socks5_cmd, const struct socks5_addr *dst);
int rules_check_addr(const struct rules *r, const struct sockaddr *client, const char *user,
		     unsigned cmd, const char *name, const struct sockaddr *addr);

/*
 * Whether r is an `allow` whose `to` names hosts explicitly: one address (a /32
 * or /128) or part of 127.0.0.0/8. Only such a rule lets a client reach the
 * gateway's own host when it listens beyond loopback (destpolicy.h).
 */
bool rules_names_host(const struct rule *r);

/* Whether a denial may be logged now (50 a second per thread); *missed gets the count not
 * logged before it. */
bool rules_log_budget(unsigned *missed);

/* Where a rule came from: "FILE:LINE" or "--rule N". Always returns buf. */
char *rules_where(const struct rule *rule, char *buf, size_t len);

/* The RULES_CMD_* bit of a SOCKS5 command, 0 for unknown commands. */
unsigned rules_cmd_bit(uint8_t socks5_cmd);
/* "connect", "bind", "udp" or "resolve" for a RULES_CMD_* bit. */
const char *rules_cmd_name(unsigned cmd);

#endif
