/* agentconf.c — the agent's settings: defaults and one key table for the config file and flags. */
#include "agentconf.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "bpfload.h"
#include "cgpath.h"
#include "literal.h"
#include "log.h"
#include "nat64.h"
#include "netnswatch.h"
#include "optinfile.h"
#include "s46_bpf.h"

#define AGENTCONF_STR(x) #x
#define AGENTCONF_XSTR(x) AGENTCONF_STR(x)

/* A copy that lives as long as the settings. */
static char *agentconf_keep(struct agentconf *c, const char *val)
{
	char **grown, *s;

	grown = realloc(c->owned, (c->nowned + 1) * sizeof(*c->owned));
	if (!grown)
		return NULL;
	c->owned = grown;
	s = strdup(val);
	if (s)
		c->owned[c->nowned++] = s;
	return s;
}

void agentconf_defaults(struct agentconf *c)
{
	memset(c, 0, sizeof(*c));
	fakeip_config_default(&c->fcfg);
	c->fcfg.state_path = FAKEIP_STATE_PATH;
	dnsd_config_default(&c->dcfg);
	c->pin_dir = BPFLOAD_PIN_DIR_DEFAULT;
	c->optin_state = OPTINFILE_PATH;
	c->proxy_port = S46_PROXY_PORT_DEFAULT;
	c->dns_port = S46_DNS_PORT_DEFAULT;
	c->mark = S46_MARK_DEFAULT;
	c->log_level = LOG_LVL_INFO;
	c->rcfg.connect_ms = 2000;
	c->rcfg.reply_ms = 30000;
	c->rcfg.health_ms = AGENTCONF_HEALTH_MS_DEFAULT;
	c->rcfg.target.literal_suffix = LITERAL_SUFFIX_DEFAULT;
}

void agentconf_free(struct agentconf *c)
{
	if (!c)
		return;
	while (c->nowned)
		free(c->owned[--c->nowned]);
	free(c->owned);
	free(c->no_fake);
	c->owned = NULL;
	c->no_fake = NULL;
	c->nno_fake = 0;
}

/* Keeps a string setting (a path or a name) in *slot. */
static int agentconf_str(struct agentconf *c, const char **slot, const char *key, const char *v,
			 char *err, size_t errlen)
{
	if (!*v)
		return conf_err(err, errlen, "%s: empty value", key);
	*slot = agentconf_keep(c, v);
	return *slot ? 0 : conf_err(err, errlen, "%s: out of memory", key);
}

/* The gateway's own name is never faked, or the agent would send it to itself. */
static int agentconf_resolve_gateway(struct agentconf *c, const char *host, const char *port,
				     struct sockaddr_storage *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char *kept;
	int rc;

	if (getaddrinfo(host, port, &hints, &res))
		return -EINVAL;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	kept = agentconf_keep(c, host);
	if (!kept)
		return -ENOMEM;
	rc = dnsd_no_fake_add(&c->no_fake, &c->nno_fake, kept);
	return rc == -EINVAL ? 0 : rc;
}

/* HOST:PORT with an IP literal, else a name resolved now (at start-up and on reload). */
static int agentconf_set_gateway(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct agentconf *c = obj;
	struct sockaddr_storage *out = &c->rcfg.gateways[c->rcfg.ngateways];
	const char *colon = strrchr(v, ':');
	unsigned long port;
	char host[256];

	if (c->rcfg.ngateways == REDIRECT_MAX_GATEWAYS)
		return conf_err(err, errlen, "gateway: more than %d gateways",
				REDIRECT_MAX_GATEWAYS);
	if (!addr_parse(v, 0, out, NULL)) {
		c->rcfg.ngateways++;
		return 0;
	}
	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(host) ||
	    conf_parse_uint(colon + 1, 1, 65535, &port) < 0)
		return conf_err(err, errlen, "gateway: '%s' is not HOST:PORT", v);
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (agentconf_resolve_gateway(c, host, colon + 1, out) < 0)
		return conf_err(err, errlen, "gateway: cannot resolve '%s'", host);
	c->rcfg.ngateways++;
	return 0;
}

static int agentconf_set_cgroup(void *obj, const char *v, const struct conf_src *src, char *err,
				size_t errlen)
{
	struct agentconf *c = obj;

	if (c->ncgroups == AGENTCONF_MAX_CGROUPS)
		return conf_err(err, errlen, "cgroup: more than %d cgroups", AGENTCONF_MAX_CGROUPS);
	return agentconf_str(c, &c->cgroups[c->ncgroups++], "cgroup", v, err, errlen);
}

static int agentconf_set_unit(void *obj, const char *v, const struct conf_src *src, char *err,
			      size_t errlen)
{
	struct agentconf *c = obj;

	char name[PATH_MAX];

	if (c->nunits == AGENTCONF_MAX_CGROUPS)
		return conf_err(err, errlen, "unit: more than %d units", AGENTCONF_MAX_CGROUPS);
	if (cgpath_unit_name(v, name, sizeof(name)))
		return conf_err(err, errlen,
				"unit: '%s' is not a unit name (NAME.service, .scope or .slice)",
				v);
	return agentconf_str(c, &c->units[c->nunits++], "unit", v, err, errlen);
}

static int agentconf_set_optin_state(void *obj, const char *v, const struct conf_src *src,
				     char *err, size_t errlen)
{
	struct agentconf *c = obj;

	if (!strcmp(v, "none")) {
		c->optin_state = NULL;
		return 0;
	}
	return agentconf_str(c, &c->optin_state, "optin-state", v, err, errlen);
}

static int agentconf_set_user(void *obj, const char *v, const struct conf_src *src, char *err,
			      size_t errlen)
{
	struct agentconf *c = obj;

	if (strlen(v) > 255)
		return conf_err(err, errlen, "user: longer than 255 bytes");
	return agentconf_str(c, &c->rcfg.user, "user", v, err, errlen);
}

static int agentconf_set_password_file(void *obj, const char *v, const struct conf_src *src,
				       char *err, size_t errlen)
{
	struct agentconf *c = obj;

	return agentconf_str(c, &c->password_file, "password-file", v, err, errlen);
}

static int agentconf_set_control(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct agentconf *c = obj;

	return agentconf_str(c, &c->control, "control", v, err, errlen);
}

/* A Unix socket path: it must fit sockaddr_un. */
static int agentconf_set_handoff(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct agentconf *c = obj;

	if (strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return conf_err(err, errlen,
				"handoff: '%s' is longer than a Unix socket path can be", v);
	return agentconf_str(c, &c->handoff, "handoff", v, err, errlen);
}

static int agentconf_set_netns_policy(void *obj, const char *v, const struct conf_src *src,
				      char *err, size_t errlen)
{
	struct agentconf *c = obj;

	if (netnswatch_policy_check(v, err, errlen))
		return -EINVAL;
	return agentconf_str(c, &c->netns_policy, "netns-policy", v, err, errlen);
}

static int agentconf_set_pin_dir(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct agentconf *c = obj;

	return agentconf_str(c, &c->pin_dir, "pin-dir", v, err, errlen);
}

/* A switch: "yes" from `--key` or a bare `key` line, or "no". */
#define AGENTCONF_SWITCH(fn, stmt)                                                                 \
	static int fn(void *obj, const char *v, const struct conf_src *src, char *err,             \
		      size_t errlen)                                                               \
	{                                                                                          \
		struct agentconf *c = obj;                                                         \
		bool on = strcmp(v, "no") != 0;                                                    \
		stmt;                                                                              \
		return 0;                                                                          \
	}

AGENTCONF_SWITCH(agentconf_set_no_pin, c->pin_dir = on ? NULL : BPFLOAD_PIN_DIR_DEFAULT)
AGENTCONF_SWITCH(agentconf_set_no_dns, c->no_dns = on)
AGENTCONF_SWITCH(agentconf_set_check_exists, c->dcfg.check_exists = on)
AGENTCONF_SWITCH(agentconf_set_fast_path, c->fast_path = on)

#define AGENTCONF_UINT(fn, key, field, type, min, max)                                             \
	static int fn(void *obj, const char *v, const struct conf_src *src, char *err,             \
		      size_t errlen)                                                               \
	{                                                                                          \
		struct agentconf *c = obj;                                                         \
		unsigned long n;                                                                   \
		if (conf_parse_uint(v, min, max, &n) < 0)                                          \
			return conf_err(err, errlen, key ": '%s' is not a number in %lu..%lu", v,  \
					(unsigned long)(min), (unsigned long)(max));               \
		c->field = (type)n;                                                                \
		return 0;                                                                          \
	}

AGENTCONF_UINT(agentconf_set_proxy_port, "proxy-port", proxy_port, uint16_t, 0, 65535)
AGENTCONF_UINT(agentconf_set_dns_port, "dns-port", dns_port, uint16_t, 0, 65535)
AGENTCONF_UINT(agentconf_set_mark, "mark", mark, uint32_t, 0, 0xffffffffUL)
AGENTCONF_UINT(agentconf_set_health_interval, "health-interval", rcfg.health_ms, unsigned, 0,
	       86400000)
AGENTCONF_UINT(agentconf_set_connect_timeout, "connect-timeout", rcfg.connect_ms, unsigned, 1,
	       600000)

static int agentconf_set_gateway_policy(void *obj, const char *v, const struct conf_src *src,
					char *err, size_t errlen)
{
	struct agentconf *c = obj;

	if (srvlist_policy_parse(v, &c->rcfg.policy) < 0)
		return conf_err(err, errlen,
				"gateway-policy: '%s' is not one of failover, round-robin, "
				"least-conns, hash",
				v);
	return 0;
}

/* Adds uid to the exempt users once; 0 or -ENOSPC. */
static int agentconf_exempt_add(struct agentconf *c, uint32_t uid)
{
	for (unsigned i = 0; i < c->nexempt; i++)
		if (c->exempt_uids[i] == uid)
			return 0;
	if (c->nexempt == S46_EXEMPT_MAX)
		return -ENOSPC;
	c->exempt_uids[c->nexempt++] = uid;
	return 0;
}

/* NAME (looked up now) or UID; none: nobody. */
static int agentconf_set_exempt_user(void *obj, const char *v, const struct conf_src *src,
				     char *err, size_t errlen)
{
	struct agentconf *c = obj;
	struct passwd *pw;
	unsigned long uid;

	c->exempt_set = true;
	if (!strcmp(v, "none")) {
		c->nexempt = 0;
		return 0;
	}
	if (conf_parse_uint(v, 0, 0xfffffffeUL, &uid) < 0) {
		pw = getpwnam(v);
		if (!pw)
			return conf_err(err, errlen, "exempt-user: no user '%s'", v);
		uid = pw->pw_uid;
	}
	if (agentconf_exempt_add(c, (uint32_t)uid) < 0)
		return conf_err(err, errlen, "exempt-user: more than %d users", S46_EXEMPT_MAX);
	return 0;
}

/* Without exempt-user, the gateway's system user when this host has one. */
static void agentconf_exempt_default(struct agentconf *c)
{
	struct passwd *pw;

	if (c->exempt_set)
		return;
	pw = getpwnam(AGENTCONF_EXEMPT_DEFAULT);
	if (pw)
		agentconf_exempt_add(c, pw->pw_uid);
}

static int agentconf_set_dns_upstream(void *obj, const char *v, const struct conf_src *src,
				      char *err, size_t errlen)
{
	struct agentconf *c = obj;

	if (addr_parse(v, 53, &c->dcfg.upstream, NULL) < 0)
		return conf_err(err, errlen,
				"dns-upstream: '%s' is not an IP address with optional port", v);
	c->upstream_set = true;
	return 0;
}

static int agentconf_set_no_fake(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct agentconf *c = obj;
	const char *kept = agentconf_keep(c, v);
	int rc = kept ? dnsd_no_fake_add(&c->no_fake, &c->nno_fake, kept) : -ENOMEM;

	if (rc == -EINVAL)
		return conf_err(err, errlen, "no-fake: '%s' is not a domain suffix", v);
	return rc < 0 ? conf_err(err, errlen, "no-fake: out of memory") : 0;
}

static int agentconf_set_pool(struct agentconf *c, int af, const char *key, const char *v,
			      char *err, size_t errlen)
{
	bool v6 = strchr(v, ':') != NULL;

	if (v6 != (af == AF_INET6) || fakeip_config_set_pool(&c->fcfg, v) < 0)
		return conf_err(err, errlen,
				"%s: '%s' is not an %s CIDR prefix with host bits clear "
				"and room for two addresses",
				key, v, af == AF_INET ? "IPv4" : "IPv6");
	return 0;
}

static int agentconf_set_pool4(void *obj, const char *v, const struct conf_src *src, char *err,
			       size_t errlen)
{
	return agentconf_set_pool(obj, AF_INET, "fake-pool4", v, err, errlen);
}

static int agentconf_set_pool6(void *obj, const char *v, const struct conf_src *src, char *err,
			       size_t errlen)
{
	return agentconf_set_pool(obj, AF_INET6, "fake-pool6", v, err, errlen);
}

static int agentconf_set_fake_ttl(void *obj, const char *v, const struct conf_src *src, char *err,
				  size_t errlen)
{
	struct agentconf *c = obj;

	if (fakeip_config_set_ttl(&c->fcfg, v) < 0)
		return conf_err(err, errlen, "fake-ttl: '%s' is not a number in 1..604800", v);
	return 0;
}

static int agentconf_set_fake_state(void *obj, const char *v, const struct conf_src *src, char *err,
				    size_t errlen)
{
	struct agentconf *c = obj;

	if (!strcmp(v, "none")) {
		c->fcfg.state_path = NULL;
		return 0;
	}
	return agentconf_str(c, &c->fcfg.state_path, "fake-state", v, err, errlen);
}

static int agentconf_set_via_gateway(void *obj, const char *v, const struct conf_src *src,
				     char *err, size_t errlen)
{
	struct agentconf *c = obj;

	if (c->npolicy == AGENTCONF_MAX_POLICY)
		return conf_err(err, errlen, "via-gateway: more than %d prefixes",
				AGENTCONF_MAX_POLICY);
	if (prefix_parse(v, 0, &c->policy[c->npolicy]) < 0)
		return conf_err(err, errlen, "via-gateway: '%s' is not an address or CIDR prefix",
				v);
	c->npolicy++;
	return 0;
}

/* A domain suffix: letters, digits, hyphens and dots, at least one label. */
static bool agentconf_is_suffix(const char *v)
{
	size_t n = strspn(v, ".");

	if (!v[n] || strlen(v) > 200)
		return false;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return !strstr(v + n, "..");
}

static int agentconf_set_literal_suffix(void *obj, const char *v, const struct conf_src *src,
					char *err, size_t errlen)
{
	struct agentconf *c = obj;
	const char *kept = NULL;

	if (strcmp(v, "none")) {
		if (!agentconf_is_suffix(v))
			return conf_err(err, errlen, "literal-suffix: '%s' is not a domain suffix",
					v);
		kept = agentconf_keep(c, v);
		if (!kept)
			return conf_err(err, errlen, "literal-suffix: out of memory");
	}
	c->rcfg.target.literal_suffix = kept;
	c->dcfg.literal_suffix = kept;
	return 0;
}

static int agentconf_set_nat64_prefix(void *obj, const char *v, const struct conf_src *src,
				      char *err, size_t errlen)
{
	struct agentconf *c = obj;
	struct target_config *t = &c->rcfg.target;

	if (t->nnat64 == TARGET_MAX_NAT64)
		return conf_err(err, errlen, "nat64-prefix: more than %d prefixes",
				TARGET_MAX_NAT64);
	if (nat64_prefix_parse(v, &t->nat64[t->nnat64]) < 0)
		return conf_err(err, errlen,
				"nat64-prefix: '%s' is not an IPv6 prefix of length 32, 40, 48, "
				"56, 64 or 96 with host bits and bits 64-71 clear",
				v);
	t->nnat64++;
	return 0;
}

static int agentconf_set_log_level(void *obj, const char *v, const struct conf_src *src, char *err,
				   size_t errlen)
{
	return conf_parse_log_level(v, &((struct agentconf *)obj)->log_level, err, errlen);
}

const struct conf_key agentconf_keys[] = {
    {"gateway", agentconf_set_gateway, CONF_REPEAT, "HOST:PORT",
     "SOCKS5 gateway; repeat for more (see --gateway-policy)"},
    {"handoff", agentconf_set_handoff, 0, "PATH",
     "hand each connection to a gateway on this host over its\n--handoff Unix socket, instead of a "
     "SOCKS5 connection; the\n--gateway list is the fallback"},
    {"gateway-policy", agentconf_set_gateway_policy, 0, "POLICY",
     "how connections spread over the gateways: failover (default:\nthe first that answers takes "
     "all), round-robin, least-conns,\nor hash (by destination name: a site stays on one "
     "gateway)"},
    {"health-interval", agentconf_set_health_interval, 0, "MS",
     "ask every gateway this often (SOCKS5); one that fails is\nskipped until it answers again, "
     "0: none (only warnings\nat start; default " AGENTCONF_XSTR(AGENTCONF_HEALTH_MS_DEFAULT) ")"},
    {"cgroup", agentconf_set_cgroup, CONF_REPEAT, "PATH",
     "cgroup2 directory to redirect, or a path below the cgroup2\nmount "
     "(system.slice/foo.service), followed when it is removed\nand made again; repeatable"},
    {"unit", agentconf_set_unit, CONF_REPEAT, "NAME.service",
     "the cgroup of a systemd unit, found in the slice tree and\nfollowed when systemd makes it "
     "again; repeatable"},
    {"optin-state", agentconf_set_optin_state, 0, "FILE",
     "run-time opt-ins (socks46 attach) kept here and attached\nagain at start, none: not kept "
     "(default " OPTINFILE_PATH ")"},
    {"user", agentconf_set_user, 0, "NAME", "RFC 1929 user towards the gateway"},
    {"password-file", agentconf_set_password_file, 0, "FILE", "its password (first line)"},
    {"control", agentconf_set_control, 0, "PATH",
     "control socket (default /run/socks46/agent.sock)"},
    {"netns-policy", agentconf_set_netns_policy, 0, "POLICY",
     "network namespaces served besides the agent's own: all (default:\nevery namespace of a "
     "process in the attached cgroups), own\n(none), or NAME,/PATH,... (namespaces by "
     "/run/netns name or path)"},
    {"pin-dir", agentconf_set_pin_dir, 0, "DIR",
     "pin links on bpffs here (default " BPFLOAD_PIN_DIR_DEFAULT ")"},
    {"no-pin", agentconf_set_no_pin, CONF_SWITCH, NULL, "do not pin: links go away with the agent"},
    {"proxy-port", agentconf_set_proxy_port, 0, "PORT",
     "loopback TCP proxy port (default " AGENTCONF_XSTR(S46_PROXY_PORT_DEFAULT) ")"},
    {"dns-port", agentconf_set_dns_port, 0, "PORT",
     "loopback DNS responder port (default " AGENTCONF_XSTR(S46_DNS_PORT_DEFAULT) ")"},
    {"dns-listen", agentconf_set_dns_port, 0, "PORT", "the same as --dns-port"},
    {"dns-upstream", agentconf_set_dns_upstream, 0, "ADDR",
     "real resolver (default: first nameserver of resolv.conf)"},
    {"no-fake", agentconf_set_no_fake, CONF_REPEAT, "SUFFIX",
     "never fake names under SUFFIX; repeatable"},
    {"no-dns", agentconf_set_no_dns, CONF_SWITCH, NULL, "do not steer DNS (no responder)"},
    {"check-exists", agentconf_set_check_exists, CONF_SWITCH, NULL,
     "NXDOMAIN for names the gateway cannot resolve"},
    {"fake-pool4", agentconf_set_pool4, 0, "CIDR", "fake IPv4 pool (default 198.18.0.0/15)"},
    {"fake-pool6", agentconf_set_pool6, 0, "CIDR", "fake IPv6 pool (default 2001:2::/48)"},
    {"fake-ttl", agentconf_set_fake_ttl, 0, "SECONDS",
     "DNS TTL and how long unused entries live (default " AGENTCONF_XSTR(FAKEIP_DEFAULT_TTL) ")"},
    {"fake-state", agentconf_set_fake_state, 0, "FILE",
     "fake-IP table kept here across restarts, none: not kept\n(default " FAKEIP_STATE_PATH ")"},
    {"state", agentconf_set_fake_state, 0, "FILE", "the same as --fake-state"},
    {"via-gateway", agentconf_set_via_gateway, CONF_REPEAT, "CIDR",
     "real destinations that go through the gateway; repeatable"},
    {"nat64-prefix", agentconf_set_nat64_prefix, CONF_REPEAT, "PREFIX",
     "NAT64 prefix (RFC 6052, e.g. " NAT64_WKP "): its addresses go\nthrough the gateway as the "
     "IPv4 address they embed; repeatable"},
    {"literal-suffix", agentconf_set_literal_suffix, 0, "SUFFIX",
     "names under SUFFIX carry an IPv6 address (2001-db8--1.SUFFIX),\nnone: no such names "
     "(default " LITERAL_SUFFIX_DEFAULT ")"},
    {"mark", agentconf_set_mark, 0, "N", "SO_MARK of sockets never redirected (default 0x5346)"},
    {"exempt-user", agentconf_set_exempt_user, CONF_REPEAT, "NAME|UID",
     "sockets of this user are never redirected (a gateway on\nthis host); repeatable, none: "
     "nobody (default " AGENTCONF_EXEMPT_DEFAULT " if it\nexists)"},
    {"fast-path", agentconf_set_fast_path, CONF_SWITCH, NULL,
     "after the gateway's reply, the kernel moves the bytes (sockmap,\nsk_skb) instead of the "
     "agent; refused with one line where\nthe kernel cannot (default: the agent relays)"},
    {"connect-timeout", agentconf_set_connect_timeout, 0, "MS",
     "a gateway silent that long is skipped (default 2000)"},
    {"log-level", agentconf_set_log_level, 0, "LEVEL", "error, warn, info (default) or debug"},
    {NULL, NULL, 0, NULL, NULL},
};

/* What no single key can check. */
static int agentconf_check(const struct agentconf *c, char *err, size_t errlen)
{
	if (!c->rcfg.ngateways && !c->handoff)
		return conf_err(err, errlen, "--gateway HOST:PORT or --handoff PATH is required");
	/* The handoff carries connections only: a name is checked with a SOCKS5 RESOLVE. */
	if (!c->rcfg.ngateways && c->dcfg.check_exists)
		return conf_err(err, errlen, "--check-exists needs a --gateway to ask");
	if (c->rcfg.user && !c->password_file)
		return conf_err(err, errlen, "--user needs --password-file");
	return 0;
}

int agentconf_build(struct agentconf *c, const struct conf_cmdline *cl, bool *usage, char *err,
		    size_t errlen)
{
	int rc;

	agentconf_defaults(c);
	*usage = false;
	if (cl->config && (rc = conf_load_file(agentconf_keys, c, cl->config, err, errlen)) < 0)
		return rc;
	*usage = true;
	rc = conf_cmdline_apply(cl, agentconf_keys, c, err, errlen);
	if (rc < 0)
		return rc;
	/* Without a file everything came from the command line. */
	*usage = !cl->config;
	agentconf_exempt_default(c);
	return agentconf_check(c, err, errlen);
}

/* A cgroup path as optin_add keeps it (it may not exist yet), or a unit's cgroup name. */
static int agentconf_norm(const char *name, bool unit, char *out, size_t len, char *err,
			  size_t errlen)
{
	char root[PATH_MAX], msg[PATH_MAX + 256];
	int rc;

	if (unit) {
		rc = cgpath_unit_name(name, out, len);
		if (rc)
			snprintf(err, errlen,
				 "unit %s: not a unit name (NAME.service, .scope or .slice)", name);
		else if ((rc = cgpath_root(root, sizeof(root)))) {
			cgpath_strerror(name, rc, msg, sizeof(msg));
			snprintf(err, errlen, "unit %s", msg);
		}
		return rc;
	}
	rc = cgpath_resolve_leaf(name, out, len);
	if (rc) {
		cgpath_strerror(name, rc, msg, sizeof(msg));
		snprintf(err, errlen, "cgroup %s", msg);
	}
	return rc;
}

int agentconf_resolve_optins(const struct agentconf *c, struct agentconf_optin *out, char *err,
			     size_t errlen)
{
	char norm[PATH_MAX];
	unsigned n = 0;
	int rc;

	for (unsigned i = 0; i < c->ncgroups + c->nunits; i++) {
		bool unit = i >= c->ncgroups;
		const char *name = unit ? c->units[i - c->ncgroups] : c->cgroups[i];

		rc = agentconf_norm(name, unit, norm, sizeof(norm), err, errlen);
		if (!rc && !(out[n].name = strdup(norm)))
			rc = conf_err(err, errlen, "%s: out of memory", name);
		if (rc) {
			agentconf_free_optins(out, n);
			return rc;
		}
		out[n++].unit = unit;
	}
	return (int)n;
}

void agentconf_free_optins(struct agentconf_optin *v, unsigned n)
{
	while (n)
		free(v[--n].name);
}
