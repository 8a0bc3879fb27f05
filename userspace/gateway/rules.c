/* rules.c — parses `rule` lines and finds the first rule that matches a request. */
#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "addr.h"
#include "conf.h"
#include "dstmatch.h"
#include "log.h"

struct rule {
	enum rules_action action;
	struct prefix from; /* af 0: any */
	bool has_user;
	char *user;	     /* NULL with has_user: unauthenticated clients */
	unsigned cmds;	     /* 0: any */
	struct dstmatch dst; /* to, port */
	char *file;	     /* NULL: the command line */
	unsigned line;
};

struct rules {
	struct rule *v;
	size_t n, cap;
};

int rules_new(struct rules **out)
{
	*out = calloc(1, sizeof(struct rules));
	return *out ? 0 : -ENOMEM;
}

static void rules_rule_free(struct rule *r)
{
	free(r->user);
	dstmatch_clear(&r->dst);
	free(r->file);
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rules_rule_free(&r->v[i]);
	free(r->v);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r ? r->n : 0;
}

unsigned rules_cmd_bit(uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_CONNECT:
		return RULES_CMD_CONNECT;
	case SOCKS5_CMD_BIND:
		return RULES_CMD_BIND;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		return RULES_CMD_UDP;
	case SOCKS5_CMD_RESOLVE:
	case SOCKS5_CMD_RESOLVE_PTR:
		return RULES_CMD_RESOLVE;
	default:
		return 0;
	}
}

static int rules_parse_cmds(const char *s, unsigned *out)
{
	char buf[64], *save = NULL, *tok;

	/* strtok_r would skip empty items: "connect," and ",udp" are typos, not lists. */
	if (strlen(s) >= sizeof(buf) || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return -EINVAL;
	strcpy(buf, s);
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "connect"))
			*out |= RULES_CMD_CONNECT;
		else if (!strcmp(tok, "bind"))
			*out |= RULES_CMD_BIND;
		else if (!strcmp(tok, "udp"))
			*out |= RULES_CMD_UDP;
		else if (!strcmp(tok, "resolve"))
			*out |= RULES_CMD_RESOLVE;
		else
			return -EINVAL;
	}
	return *out ? 0 : -EINVAL;
}

/* One `KEY VALUE` pair of a rule; each key at most once. */
static int rules_parse_cond(struct rule *r, const char *key, const char *val, unsigned *seen,
			    char *err, size_t errlen)
{
	static const char *const keys[] = {"from", "user", "cmd", "to", "port"};
	unsigned k;
	int ret = 0;

	for (k = 0; k < 5 && strcmp(key, keys[k]); k++)
		;
	if (k == 5)
		return conf_err(err, errlen,
				"rule: unknown condition '%s' (from, user, cmd, to, port)", key);
	if (!val)
		return conf_err(err, errlen, "rule: '%s' needs a value", key);
	if (*seen & (1u << k))
		return conf_err(err, errlen, "rule: '%s' given twice", key);
	*seen |= 1u << k;
	switch (k) {
	case 0:
		ret = prefix_parse(val, 0, &r->from);
		break;
	case 1:
		r->has_user = true;
		if (strcmp(val, "-") && !(r->user = strdup(val)))
			return conf_err(err, errlen, "rule: out of memory");
		break;
	case 2:
		ret = rules_parse_cmds(val, &r->cmds);
		break;
	case 3:
		ret = dstmatch_parse_to(&r->dst, val);
		break;
	default:
		ret = dstmatch_parse_port(&r->dst, val);
		break;
	}
	if (ret < 0)
		return conf_err(err, errlen, "rule: bad %s '%s'", key, val);
	return 0;
}

static int rules_parse(struct rule *r, char *text, char *err, size_t errlen)
{
	char *save = NULL, *tok = strtok_r(text, " \t", &save), *val;
	unsigned seen = 0;
	int ret;

	if (!tok || (strcmp(tok, "allow") && strcmp(tok, "deny")))
		return conf_err(err, errlen, "rule: must start with allow or deny");
	r->action = strcmp(tok, "allow") ? RULES_DENY : RULES_ALLOW;
	dstmatch_init(&r->dst);
	while ((tok = strtok_r(NULL, " \t", &save))) {
		val = strtok_r(NULL, " \t", &save);
		ret = rules_parse_cond(r, tok, val, &seen, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int rules_add(struct rules *rs, const char *text, const char *file, unsigned line, char *err,
	      size_t errlen)
{
	struct rule r = {0};
	char *copy = strdup(text);
	int ret = -ENOMEM;

	if (!copy)
		return conf_err(err, errlen, "rule: out of memory");
	ret = rules_parse(&r, copy, err, errlen);
	if (ret < 0)
		goto out;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 8;
		struct rule *v = realloc(rs->v, cap * sizeof(*v));

		if (!v) {
			ret = conf_err(err, errlen, "rule: out of memory");
			goto out;
		}
		rs->v = v;
		rs->cap = cap;
	}
	r.line = file ? line : (unsigned)rs->n + 1;
	if (file && !(r.file = strdup(file))) {
		ret = conf_err(err, errlen, "rule: out of memory");
		goto out;
	}
	rs->v[rs->n++] = r;
	free(copy);
	return 0;
out:
	rules_rule_free(&r);
	free(copy);
	return ret;
}

static bool rules_user_match(const struct rule *r, const char *user)
{
	if (!r->has_user)
		return true;
	if (!r->user || !user)
		return !r->user && !user;
	return !strcmp(r->user, user);
}

enum rules_action rules_check(const struct rules *rs, const struct rules_req *q,
			      const struct rule **hit)
{
	*hit = NULL;
	for (size_t i = 0; rs && i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		int to;

		if (r->from.af && (!q->client || !prefix_contains_sa(&r->from, q->client)))
			continue;
		if (!rules_user_match(r, q->user))
			continue;
		if (r->cmds && !(r->cmds & q->cmd))
			continue;
		if (!dstmatch_port(&r->dst, q->port))
			continue;
		to = dstmatch_to(&r->dst, q->name, q->addr);
		if (to < 0)
			return RULES_DEFER;
		if (!to)
			continue;
		*hit = r;
		return r->action;
	}
	return RULES_ALLOW;
}

char *rules_where(const struct rule *r, char *buf, size_t len)
{
	if (!r)
		snprintf(buf, len, "default");
	else if (r->file)
		snprintf(buf, len, "%s:%u", r->file, r->line);
	else
		snprintf(buf, len, "--rule %u", r->line);
	return buf;
}

const char *rules_cmd_name(unsigned cmd)
{
	return cmd == RULES_CMD_CONNECT ? "connect"
	       : cmd == RULES_CMD_BIND	? "bind"
	       : cmd == RULES_CMD_UDP	? "udp"
					: "resolve";
}

bool rules_names_host(const struct rule *r)
{
	static const uint8_t lo4[4] = {127};

	if (!r || r->action != RULES_ALLOW || r->dst.kind != DSTMATCH_PREFIX)
		return false;
	/* One address, or loopback only: a rule for a network does not open the host in it. */
	if (r->dst.prefix.af == AF_INET)
		return r->dst.prefix.len == 32 ||
		       (r->dst.prefix.len >= 8 && prefix_bits_equal(r->dst.prefix.addr, lo4, 8));
	return r->dst.prefix.len == 128;
}

/* Denials one thread logs per second: a flood of denied datagrams must not flood the log. */
#define RULES_LOG_PER_S 50

bool rules_log_budget(unsigned *missed)
{
	static __thread time_t sec;
	static __thread unsigned n, skipped;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec != sec) {
		sec = ts.tv_sec;
		n = 0;
	}
	if (n >= RULES_LOG_PER_S) {
		skipped++;
		return false;
	}
	n++;
	*missed = skipped;
	skipped = 0;
	return true;
}

/* Client-controlled names go into the log with anything unusual escaped. */
static void rules_log_deny(const struct rule *hit, const struct rules_req *q)
{
	unsigned missed;
	char where[300], client[ADDR_STRLEN], dest[ADDR_STRLEN], name[4 * 256 + 1],
	    user[4 * 256 + 1];

	if (!rules_log_budget(&missed))
		return;
	if (q->addr)
		addr_format_ip(q->addr, dest, sizeof(dest));
	else
		snprintf(dest, sizeof(dest), "-");
	log_info("rule %s denies client=%s user=%s cmd=%s name=%s addr=%s port=%u%s%.0u%s",
		 rules_where(hit, where, sizeof(where)),
		 q->client ? addr_format_ip(q->client, client, sizeof(client)) : "-",
		 log_escape(q->user, user, sizeof(user)), rules_cmd_name(q->cmd),
		 log_escape(q->name, name, sizeof(name)), dest, q->port, missed ? " (" : "", missed,
		 missed ? " more denials not logged)" : "");
}

int rules_check_request(const struct rules *r, const struct sockaddr *client, const char *user,
			uint8_t socks5_cmd, const struct socks5_addr *dst)
{
	struct rules_req q = {
	    .client = client, .user = user, .cmd = rules_cmd_bit(socks5_cmd), .port = dst->port};
	struct sockaddr_storage ss;
	const struct rule *hit;
	enum rules_action a;

	if (!rules_count(r))
		return 0;
	if (dst->atyp == SOCKS5_ATYP_DOMAINNAME)
		q.name = dst->name;
	else if (socks5_addr_to_sockaddr(dst, &ss, NULL) == 0)
		q.addr = (struct sockaddr *)&ss;
	a = rules_check(r, &q, &hit);
	if (a == RULES_DENY)
		rules_log_deny(hit, &q);
	return a == RULES_DENY ? -EACCES : a == RULES_DEFER ? 1 : 0;
}

int rules_check_addr(const struct rules *r, const struct sockaddr *client, const char *user,
		     unsigned cmd, const char *name, const struct sockaddr *addr)
{
	struct rules_req q = {.client = client,
			      .user = user,
			      .cmd = cmd,
			      .name = name,
			      .addr = addr,
			      .port = addr_port(addr)};
	const struct rule *hit;
	enum rules_action a;

	if (!rules_count(r))
		return 0;
	a = rules_check(r, &q, &hit);
	if (a != RULES_DENY)
		return a == RULES_ALLOW && rules_names_host(hit) ? 1 : 0;
	rules_log_deny(hit, &q);
	return -EACCES;
}
