/* conf.c — gateway settings: defaults and one key table for the config file and flags. */
#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "gateway/rules.h"
#include "gateway/upstream.h"
#include "log.h"

typedef int conf_setter(struct conf *c, const char *value, char *err, size_t errlen);

struct conf_key {
	const char *name;
	conf_setter *set;
};

int conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

void conf_defaults(struct conf *c)
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
	c->udp_idle_timeout_s = CONF_UDP_IDLE_DEFAULT;
	c->drain_timeout_s = 10;
	c->upstream_fail_limit = 3;
	c->upstream_bad_s = 30;
	c->bind_timeout_s = 60;
	c->processes = 1;
}

void conf_free(struct conf *c)
{
	free(c->users_file);
	free(c->resolv_conf);
	free(c->dns_server);
	c->users_file = c->resolv_conf = c->dns_server = NULL;
	rules_free(c->rules);
	c->rules = NULL;
	upstream_table_free(c->upstreams);
	c->upstreams = NULL;
}

static int conf_set_listen(struct conf *c, const char *v, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (addr_parse(v, 0, &ss, NULL) < 0)
		return conf_err(err, errlen,
				"listen: '%s' is not ADDR:PORT (e.g. 127.0.0.1:1080 or [::1]:1080)",
				v);
	if (c->listen_is_default) {
		c->nlisten = 0;
		c->listen_is_default = false;
	}
	if (c->nlisten >= CONF_MAX_LISTEN)
		return conf_err(err, errlen, "listen: more than %d addresses", CONF_MAX_LISTEN);
	c->listen[c->nlisten++] = ss;
	return 0;
}

static int conf_set_str(char **slot, const char *key, const char *v, char *err, size_t errlen)
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

static int conf_set_users(struct conf *c, const char *v, char *err, size_t errlen)
{
	return conf_set_str(&c->users_file, "users", v, err, errlen);
}

static int conf_set_resolv_conf(struct conf *c, const char *v, char *err, size_t errlen)
{
	return conf_set_str(&c->resolv_conf, "resolv-conf", v, err, errlen);
}

/* Each server must be an IP literal with an optional port; c-ares gets them as given. */
static int conf_set_dns_server(struct conf *c, const char *v, char *err, size_t errlen)
{
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
	return conf_set_str(&c->dns_server, "dns-server", v, err, errlen);
}

#define CONF_UINT_SETTER(fn, key, field, min, max, scale)                                          \
	static int fn(struct conf *c, const char *v, char *err, size_t errlen)                     \
	{                                                                                          \
		unsigned long n;                                                                   \
		if (conf_parse_uint(v, min, max, &n) < 0)                                          \
			return conf_err(err, errlen, key ": '%s' is not a number in %lu..%lu", v,  \
					(unsigned long)(min), (unsigned long)(max));               \
		c->field = (unsigned)(n * (scale));                                                \
		return 0;                                                                          \
	}

CONF_UINT_SETTER(conf_set_threads, "threads", threads, 1, 1024, 1)
CONF_UINT_SETTER(conf_set_he_delay, "he-delay", he_delay_ms, 10, 10000, 1)
CONF_UINT_SETTER(conf_set_hs_timeout, "handshake-timeout", handshake_timeout_s, 1, 3600, 1)
CONF_UINT_SETTER(conf_set_conn_timeout, "connect-timeout", connect_timeout_s, 1, 3600, 1)
CONF_UINT_SETTER(conf_set_idle_timeout, "idle-timeout", idle_timeout_s, 0, 604800, 1)
CONF_UINT_SETTER(conf_set_udp_idle_timeout, "udp-idle-timeout", udp_idle_timeout_s, 0, 604800, 1)
CONF_UINT_SETTER(conf_set_drain_timeout, "drain-timeout", drain_timeout_s, 0, 3600, 1)
CONF_UINT_SETTER(conf_set_max_conns, "max-conns", max_conns, 1, 10000000, 1)
CONF_UINT_SETTER(conf_set_up_fail_limit, "upstream-fail-limit", upstream_fail_limit, 1, 1000, 1)
CONF_UINT_SETTER(conf_set_up_bad_time, "upstream-bad-time", upstream_bad_s, 0, 86400, 1)
CONF_UINT_SETTER(conf_set_bind_timeout, "bind-timeout", bind_timeout_s, 1, 3600, 1)
CONF_UINT_SETTER(conf_set_processes, "processes", processes, 1, 64, 1)
CONF_UINT_SETTER(conf_set_mark, "mark", mark, 0, 0xffffffffUL, 1)

static int conf_set_log_level(struct conf *c, const char *v, char *err, size_t errlen)
{
	int l = log_level_parse(v);

	if (l < 0)
		return conf_err(err, errlen,
				"log-level: '%s' is not one of error, warn, info, debug", v);
	c->log_level = l;
	return 0;
}

static int conf_set_prefer(struct conf *c, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "ipv6"))
		c->prefer = AF_INET6;
	else if (!strcmp(v, "ipv4"))
		c->prefer = AF_INET;
	else
		return conf_err(err, errlen, "prefer: '%s' is not ipv4 or ipv6", v);
	return 0;
}

static int conf_set_listen_freebind(struct conf *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "yes") && strcmp(v, "no"))
		return conf_err(err, errlen, "listen-freebind: '%s' is not yes or no", v);
	c->listen_freebind = !strcmp(v, "yes");
	return 0;
}

static int conf_set_rule(struct conf *c, const char *v, char *err, size_t errlen)
{
	if (!c->rules && !(c->rules = rules_new()))
		return conf_err(err, errlen, "rule: out of memory");
	return rules_add(c->rules, v, c->src_file, c->src_line, err, errlen);
}

static int conf_set_udp_public(struct conf *c, const char *v, char *err, size_t errlen)
{
	if (addr_parse_ip(v, &c->udp_public, NULL) < 0)
		return conf_err(err, errlen, "udp-public-address: '%s' is not an IP address", v);
	addr_unmap(&c->udp_public);
	return 0;
}

static int conf_upstreams(struct conf *c, char *err, size_t errlen)
{
	if (!c->upstreams && !(c->upstreams = upstream_table_new()))
		return conf_err(err, errlen, "out of memory");
	return 0;
}

static int conf_set_upstream(struct conf *c, const char *v, char *err, size_t errlen)
{
	int ret = conf_upstreams(c, err, errlen);

	return ret < 0 ? ret : upstream_add(c->upstreams, v, err, errlen);
}

static int conf_set_route(struct conf *c, const char *v, char *err, size_t errlen)
{
	int ret = conf_upstreams(c, err, errlen);

	return ret < 0 ? ret : upstream_add_route(c->upstreams, v, err, errlen);
}

static const struct conf_key conf_keys[] = {
    {"listen", conf_set_listen},
    {"users", conf_set_users},
    {"threads", conf_set_threads},
    {"log-level", conf_set_log_level},
    {"he-delay", conf_set_he_delay},
    {"prefer", conf_set_prefer},
    {"listen-freebind", conf_set_listen_freebind},
    {"handshake-timeout", conf_set_hs_timeout},
    {"connect-timeout", conf_set_conn_timeout},
    {"idle-timeout", conf_set_idle_timeout},
    {"udp-idle-timeout", conf_set_udp_idle_timeout},
    {"drain-timeout", conf_set_drain_timeout},
    {"max-conns", conf_set_max_conns},
    {"resolv-conf", conf_set_resolv_conf},
    {"dns-server", conf_set_dns_server},
    {"mark", conf_set_mark},
    {"rule", conf_set_rule},
    {"udp-public-address", conf_set_udp_public},
    {"upstream", conf_set_upstream},
    {"route", conf_set_route},
    {"upstream-fail-limit", conf_set_up_fail_limit},
    {"upstream-bad-time", conf_set_up_bad_time},
    {"bind-timeout", conf_set_bind_timeout},
    {"processes", conf_set_processes},
};

int conf_set(struct conf *c, const char *key, const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
		if (!strcmp(key, conf_keys[i].name))
			return conf_keys[i].set(c, value, err, errlen);
	conf_err(err, errlen, "unknown key '%s'", key);
	return -ENOENT;
}

static char *conf_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* One line: strips the comment, splits key from value; empty lines are fine. */
static int conf_line(struct conf *c, char *line, char *err, size_t errlen)
{
	char *hash = strchr(line, '#'), *key, *val;
	char msg[CONF_ERRLEN - 64];
	int ret;

	if (hash)
		*hash = '\0';
	key = conf_trim(line);
	if (!*key)
		return 0;
	val = key + strcspn(key, " \t");
	if (*val)
		*val++ = '\0';
	val = conf_trim(val);
	if (!*val) {
		snprintf(err, errlen, "missing value for '%s'", key);
		return -EINVAL;
	}
	ret = conf_set(c, key, val, msg, sizeof(msg));
	if (ret < 0)
		snprintf(err, errlen, "%s", msg);
	return ret;
}

int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char line[4096], msg[CONF_ERRLEN - 64];
	unsigned lineno = 0;
	int ret = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -EINVAL;
			break;
		}
		c->src_file = path;
		c->src_line = lineno;
		ret = conf_line(c, line, msg, sizeof(msg));
		c->src_file = NULL;
		if (ret < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	fclose(f);
	return ret;
}
