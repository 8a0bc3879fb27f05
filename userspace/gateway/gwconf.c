/* gwconf.c — the gateway's settings: defaults and one key table for the config file and flags. */
#include "gwconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "log.h"
#include "rules.h"
#include "upstream.h"

void gwconf_defaults(struct gwconf *c)
{
	memset(c, 0, sizeof(*c));
	addr_parse("127.0.0.1:1080", 0, &c->listen[0], NULL);
	addr_parse("[::1]:1080", 0, &c->listen[1], NULL);
	c->nlisten = 2;
	c->listen_is_default = true;
	c->log_level = LOG_LVL_INFO;
	c->he_delay_ms = 250;
	c->prefer = AF_INET6;
	c->handshake_timeout_s = 10;
	c->connect_timeout_s = 10;
	c->idle_timeout_s = 300;
	c->udp_idle_timeout_s = GWCONF_UDP_IDLE_DEFAULT;
	c->drain_timeout_s = 10;
	c->upstream_fail_limit = 3;
	c->upstream_bad_s = 30;
	c->bind_timeout_s = 60;
	c->processes = 1;
}

void gwconf_free(struct gwconf *c)
{
	free(c->users_file);
	free(c->resolv_conf);
	free(c->dns_server);
	free(c->handoff);
	c->users_file = c->resolv_conf = c->dns_server = c->handoff = NULL;
	rules_free(c->rules);
	c->rules = NULL;
	upstream_table_free(c->upstreams);
	c->upstreams = NULL;
}

static int gwconf_set_listen(void *obj, const char *v, const struct conf_src *src, char *err,
			     size_t errlen)
{
	struct gwconf *c = obj;
	struct sockaddr_storage ss;

	if (addr_parse(v, 0, &ss, NULL) < 0)
		return conf_err(err, errlen,
				"listen: '%s' is not ADDR:PORT (e.g. 127.0.0.1:1080 or [::1]:1080)",
				v);
	if (c->listen_is_default) {
		c->nlisten = 0;
		c->listen_is_default = false;
	}
	if (c->nlisten >= GWCONF_MAX_LISTEN)
		return conf_err(err, errlen, "listen: more than %d addresses", GWCONF_MAX_LISTEN);
	c->listen[c->nlisten++] = ss;
	return 0;
}

static int gwconf_set_str(char **slot, const char *key, const char *v, char *err, size_t errlen)
{
	char *s;

	if (!*v)
		return conf_err(err, errlen, "%s: empty value", key);
	s = strdup(v);
	if (!s)
		return conf_err(err, errlen, "%s: out of memory", key);
	free(*slot);
	*slot = s;
	return 0;
}

static int gwconf_set_users(void *obj, const char *v, const struct conf_src *src, char *err,
			    size_t errlen)
{
	struct gwconf *c = obj;
	return gwconf_set_str(&c->users_file, "users", v, err, errlen);
}

static int gwconf_set_resolv_conf(void *obj, const char *v, const struct conf_src *src, char *err,
				  size_t errlen)
{
	struct gwconf *c = obj;
	return gwconf_set_str(&c->resolv_conf, "resolv-conf", v, err, errlen);
}

/* An absolute path that fits a sockaddr_un: the agent is told the same one. */
static int gwconf_set_handoff(void *obj, const char *v, const struct conf_src *src, char *err,
			      size_t errlen)
{
	struct gwconf *c = obj;

	if (v[0] != '/' || strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return conf_err(err, errlen,
				"handoff: '%s' is not an absolute path of at most %zu bytes", v,
				sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return gwconf_set_str(&c->handoff, "handoff", v, err, errlen);
}

/* Each server must be an IP literal with an optional port; c-ares gets them as given. */
static int gwconf_set_dns_server(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct gwconf *c = obj;
	char buf[1024], *save = NULL, *tok;
	struct sockaddr_storage ss;

	if (strlen(v) >= sizeof(buf) || !*v)
		return conf_err(err, errlen, "dns-server: bad value '%s'", v);
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (addr_parse(tok, 53, &ss, NULL) < 0)
			return conf_err(err, errlen,
					"dns-server: '%s' is not an IP address with optional port",
					tok);
	return gwconf_set_str(&c->dns_server, "dns-server", v, err, errlen);
}

#define GWCONF_UINT_SETTER(fn, key, field, min, max, scale)                                        \
	static int fn(void *obj, const char *v, const struct conf_src *src, char *err,             \
		      size_t errlen)                                                               \
	{                                                                                          \
		struct gwconf *c = obj;                                                            \
		unsigned long n;                                                                   \
		if (conf_parse_uint(v, min, max, &n) < 0)                                          \
			return conf_err(err, errlen, key ": '%s' is not a number in %lu..%lu", v,  \
					(unsigned long)(min), (unsigned long)(max));               \
		c->field = (unsigned)(n * (scale));                                                \
		return 0;                                                                          \
	}

GWCONF_UINT_SETTER(gwconf_set_threads, "threads", threads, 1, 1024, 1)
GWCONF_UINT_SETTER(gwconf_set_he_delay, "he-delay", he_delay_ms, 10, 10000, 1)
GWCONF_UINT_SETTER(gwconf_set_hs_timeout, "handshake-timeout", handshake_timeout_s, 1, 3600, 1)
GWCONF_UINT_SETTER(gwconf_set_conn_timeout, "connect-timeout", connect_timeout_s, 1, 3600, 1)
GWCONF_UINT_SETTER(gwconf_set_idle_timeout, "idle-timeout", idle_timeout_s, 0, 604800, 1)
GWCONF_UINT_SETTER(gwconf_set_udp_idle_timeout, "udp-idle-timeout", udp_idle_timeout_s, 0, 604800,
		   1)
GWCONF_UINT_SETTER(gwconf_set_drain_timeout, "drain-timeout", drain_timeout_s, 0, 3600, 1)
GWCONF_UINT_SETTER(gwconf_set_max_conns, "max-conns", max_conns, 1, 10000000, 1)
GWCONF_UINT_SETTER(gwconf_set_up_fail_limit, "upstream-fail-limit", upstream_fail_limit, 1, 1000, 1)
GWCONF_UINT_SETTER(gwconf_set_up_bad_time, "upstream-bad-time", upstream_bad_s, 0, 86400, 1)
GWCONF_UINT_SETTER(gwconf_set_bind_timeout, "bind-timeout", bind_timeout_s, 1, 3600, 1)
GWCONF_UINT_SETTER(gwconf_set_processes, "processes", processes, 1, 64, 1)
GWCONF_UINT_SETTER(gwconf_set_mark, "mark", mark, 0, 0xffffffffUL, 1)

static int gwconf_set_log_level(void *obj, const char *v, const struct conf_src *src, char *err,
				size_t errlen)
{
	return conf_parse_log_level(v, &((struct gwconf *)obj)->log_level, err, errlen);
}

static int gwconf_set_prefer(void *obj, const char *v, const struct conf_src *src, char *err,
			     size_t errlen)
{
	struct gwconf *c = obj;
	if (!strcmp(v, "ipv6"))
		c->prefer = AF_INET6;
	else if (!strcmp(v, "ipv4"))
		c->prefer = AF_INET;
	else
		return conf_err(err, errlen, "prefer: '%s' is not ipv4 or ipv6", v);
	return 0;
}

static int gwconf_set_listen_freebind(void *obj, const char *v, const struct conf_src *src,
				      char *err, size_t errlen)
{
	struct gwconf *c = obj;
	if (strcmp(v, "yes") && strcmp(v, "no"))
		return conf_err(err, errlen, "listen-freebind: '%s' is not yes or no", v);
	c->listen_freebind = !strcmp(v, "yes");
	return 0;
}

static int gwconf_set_rule(void *obj, const char *v, const struct conf_src *src, char *err,
			   size_t errlen)
{
	struct gwconf *c = obj;
	if (!c->rules && rules_new(&c->rules) < 0)
		return conf_err(err, errlen, "rule: out of memory");
	return rules_add(c->rules, v, src->file, src->line, err, errlen);
}

static int gwconf_set_udp_public(void *obj, const char *v, const struct conf_src *src, char *err,
				 size_t errlen)
{
	struct gwconf *c = obj;
	if (addr_parse_ip(v, &c->udp_public, NULL) < 0)
		return conf_err(err, errlen, "udp-public-address: '%s' is not an IP address", v);
	addr_unmap(&c->udp_public);
	return 0;
}

static int gwconf_upstreams(struct gwconf *c, char *err, size_t errlen)
{
	if (!c->upstreams && upstream_table_new(&c->upstreams) < 0)
		return conf_err(err, errlen, "out of memory");
	return 0;
}

static int gwconf_set_upstream(void *obj, const char *v, const struct conf_src *src, char *err,
			       size_t errlen)
{
	struct gwconf *c = obj;
	int ret = gwconf_upstreams(c, err, errlen);

	return ret < 0 ? ret : upstream_add(c->upstreams, v, err, errlen);
}

static int gwconf_set_route(void *obj, const char *v, const struct conf_src *src, char *err,
			    size_t errlen)
{
	struct gwconf *c = obj;
	int ret = gwconf_upstreams(c, err, errlen);

	return ret < 0 ? ret : upstream_add_route(c->upstreams, v, err, errlen);
}

const struct conf_key gwconf_keys[] = {
    {"listen", gwconf_set_listen, CONF_REPEAT, "ADDR:PORT",
     "listen here (repeatable; default 127.0.0.1:1080 and [::1]:1080)"},
    {"listen-freebind", gwconf_set_listen_freebind, 0, "yes|no",
     "listen on addresses the host gets only later (default no)"},
    {"users", gwconf_set_users, 0, "FILE",
     "require RFC 1929 login; `name:hash` lines, crypt(3) hashes"},
    {"threads", gwconf_set_threads, 0, "N",
     "worker threads, one event loop each (default: one per core)"},
    {"log-level", gwconf_set_log_level, 0, "L",
     "error, warn, info (default; one line per connection) or debug"},
    {"he-delay", gwconf_set_he_delay, 0, "MS",
     "Happy Eyeballs connection attempt delay (default 250)"},
    {"prefer", gwconf_set_prefer, 0, "ipv4|ipv6", "family tried first (default ipv6)"},
    {"handshake-timeout", gwconf_set_hs_timeout, 0, "S", "greeting to request (default 10)"},
    {"connect-timeout", gwconf_set_conn_timeout, 0, "S",
     "request to connected, reply 0x06 after (default 10)"},
    {"idle-timeout", gwconf_set_idle_timeout, 0, "S",
     "close relays idle this long, 0 = never (default 300)"},
    {"udp-idle-timeout", gwconf_set_udp_idle_timeout, 0, "S",
     "end UDP associations without datagrams this long, 0 = never\n(default: the idle timeout)"},
    {"drain-timeout", gwconf_set_drain_timeout, 0, "S",
     "on SIGTERM, wait this long for connections (default 10)"},
    {"max-conns", gwconf_set_max_conns, 0, "N",
     "refuse clients beyond N live connections (default unlimited)"},
    {"resolv-conf", gwconf_set_resolv_conf, 0, "FILE",
     "DNS servers from FILE (default /etc/resolv.conf)"},
    {"dns-server", gwconf_set_dns_server, 0, "ADDR[:PORT]",
     "DNS servers, comma separated (overrides resolv.conf)"},
    {"mark", gwconf_set_mark, 0, "N",
     "SO_MARK for outbound and DNS sockets (0x5346 for the agent)"},
    {"rule", gwconf_set_rule, CONF_REPEAT, "'allow|deny ...'",
     "access rule, first match wins (repeatable; see README)"},
    {"udp-public-address", gwconf_set_udp_public, 0, "IP",
     "BND.ADDR of UDP ASSOCIATE replies, for clients behind NAT"},
    {"upstream", gwconf_set_upstream, CONF_REPEAT, "'NAME HOST:PORT [user U password-file F]'",
     "an upstream SOCKS5 server (repeatable)"},
    {"route", gwconf_set_route, CONF_REPEAT,
     "'[to CIDR|.SUFFIX|NAME|*] [port N|N-M] via NAME[,NAME]|direct'",
     "send matching requests through upstreams (first match)"},
    {"upstream-fail-limit", gwconf_set_up_fail_limit, 0, "N",
     "failures in a row that mark an upstream bad (default 3)"},
    {"upstream-bad-time", gwconf_set_up_bad_time, 0, "S",
     "how long a bad upstream is skipped (default 30)"},
    {"bind-timeout", gwconf_set_bind_timeout, 0, "S",
     "BIND: wait this long for the peer, then 0x06 (default 60)"},
    {"handoff", gwconf_set_handoff, 0, "PATH",
     "also take connections an agent on this host hands over on\nthis Unix socket (its --handoff)"},
    {"processes", gwconf_set_processes, 0, "N",
     "gateway processes sharing the port, for more descriptors\nthan one process may hold (default "
     "1)"},
    {NULL, NULL, 0, NULL, NULL},
};

int gwconf_set(struct gwconf *c, const char *key, const char *value, char *err, size_t errlen)
{
	struct conf_src src = {0};

	return conf_set(gwconf_keys, c, key, value, &src, err, errlen);
}

int gwconf_load_file(struct gwconf *c, const char *path, char *err, size_t errlen)
{
	return conf_load_file(gwconf_keys, c, path, err, errlen);
}
