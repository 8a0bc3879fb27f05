/* upstream.c — `upstream` and `route` lines, first-match routing. */
#include "upstream.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "dstmatch.h"

struct upstream_route {
	struct dstmatch dst; /* to, port */
	struct srvlist *via; /* NULL: direct */
};

struct upstream_table {
	struct srv **ups;
	size_t nups;
	struct upstream_route *routes;
	size_t nroutes;
};

int upstream_table_new(struct upstream_table **out)
{
	*out = calloc(1, sizeof(struct upstream_table));
	return *out ? 0 : -ENOMEM;
}

void upstream_table_free(struct upstream_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nups; i++)
		srv_free(t->ups[i]);
	for (size_t i = 0; i < t->nroutes; i++) {
		dstmatch_clear(&t->routes[i].dst);
		srvlist_free(t->routes[i].via);
	}
	free(t->ups);
	free(t->routes);
	free(t);
}

static struct srv *upstream_find(const struct upstream_table *t, const char *name)
{
	for (size_t i = 0; i < t->nups; i++)
		if (!strcmp(t->ups[i]->name, name))
			return t->ups[i];
	return NULL;
}

static bool upstream_valid_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
			return false;
	return true;
}

/* HOST:PORT with HOST an IP literal or a DNS name. */
static int upstream_parse_hostport(struct srv *u, const char *v, char *err, size_t errlen)
{
	unsigned long port;
	const char *colon;

	if (addr_parse(v, 0, &u->addr, NULL) == 0) {
		addr_unmap(&u->addr);
		u->port = addr_port((struct sockaddr *)&u->addr);
		return 0;
	}
	memset(&u->addr, 0, sizeof(u->addr));
	colon = strrchr(v, ':');
	if (!colon || conf_parse_uint(colon + 1, 1, 65535, &port) < 0)
		return conf_err(err, errlen, "upstream: '%s' is not HOST:PORT", v);
	u->host = strndup(v, (size_t)(colon - v));
	if (!u->host)
		return -ENOMEM;
	if (!upstream_valid_label(u->host, 253) || strchr(u->host, '_'))
		return conf_err(err, errlen, "upstream: '%s' is not HOST:PORT", v);
	u->port = (uint16_t)port;
	return 0;
}

/* The password is the first line of the file, without its newline. */
static int upstream_read_password(struct srv *u, const char *path, char *err, size_t errlen)
{
	int ret = conf_read_password(path, &u->pass);

	if (ret == -EINVAL)
		return conf_err(err, errlen,
				"upstream: password-file %s: first line must hold 1-255 bytes",
				path);
	if (ret < 0)
		return conf_err(err, errlen, "upstream: password-file %s: %s", path,
				strerror(-ret));
	return 0;
}

static int upstream_parse(struct srv *u, char *text, char *err, size_t errlen)
{
	char *save = NULL, *tok, *pwfile = NULL;
	int ret;

	tok = strtok_r(text, " \t", &save);
	if (!tok || !upstream_valid_label(tok, 64) || strchr(tok, ','))
		return conf_err(err, errlen,
				"upstream: expected NAME HOST:PORT [user USER password-file FILE]");
	if (!(u->name = strdup(tok)))
		return -ENOMEM;
	tok = strtok_r(NULL, " \t", &save);
	if (!tok)
		return conf_err(err, errlen, "upstream %s: missing HOST:PORT", u->name);
	if ((ret = upstream_parse_hostport(u, tok, err, errlen)) < 0)
		return ret;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *val = strtok_r(NULL, " \t", &save);

		if (!val)
			return conf_err(err, errlen, "upstream %s: missing value for '%s'", u->name,
					tok);
		if (!strcmp(tok, "user") && strlen(val) <= 255) {
			free(u->user);
			if (!(u->user = strdup(val)))
				return -ENOMEM;
		} else if (!strcmp(tok, "password-file")) {
			pwfile = val;
		} else {
			return conf_err(err, errlen, "upstream %s: unexpected '%s'", u->name, tok);
		}
	}
	if (!u->user != !pwfile)
		return conf_err(err, errlen, "upstream %s: user and password-file go together",
				u->name);
	return pwfile ? upstream_read_password(u, pwfile, err, errlen) : 0;
}

int upstream_add(struct upstream_table *t, const char *text, char *err, size_t errlen)
{
	struct srv *u = NULL, **v;
	char *copy = strdup(text);
	int ret = -ENOMEM;

	if (!copy || srv_new(&u))
		goto fail;
	ret = upstream_parse(u, copy, err, errlen);
	if (ret < 0)
		goto fail;
	if (upstream_find(t, u->name)) {
		ret = conf_err(err, errlen, "upstream %s: defined twice", u->name);
		goto fail;
	}
	ret = -ENOMEM;
	v = realloc(t->ups, (t->nups + 1) * sizeof(*v));
	if (!v)
		goto fail;
	t->ups = v;
	t->ups[t->nups++] = u;
	free(copy);
	return 0;
fail:
	if (ret == -ENOMEM)
		conf_err(err, errlen, "upstream: out of memory");
	srv_free(u);
	free(copy);
	return ret;
}

static int upstream_parse_via(const struct upstream_table *t, struct upstream_route *r, char *v,
			      char *err, size_t errlen)
{
	char *save = NULL, *name;

	if (!r->via && srvlist_new(&r->via))
		return -ENOMEM;
	for (name = strtok_r(v, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct srv *u = upstream_find(t, name);

		if (!u)
			return conf_err(err, errlen, "route: unknown upstream '%s'", name);
		if (srvlist_count(r->via) == UPSTREAM_MAX_VIA)
			return conf_err(err, errlen, "route: more than %d upstreams",
					UPSTREAM_MAX_VIA);
		srvlist_add(r->via, u);
	}
	if (!srvlist_count(r->via))
		return conf_err(err, errlen, "route: via needs an upstream name");
	return 0;
}

static int upstream_route_parse(const struct upstream_table *t, struct upstream_route *r,
				char *text, char *err, size_t errlen)
{
	char *save = NULL, *tok[16];
	size_t n = 0, i;
	int ret;

	for (char *p = strtok_r(text, " \t", &save); p; p = strtok_r(NULL, " \t", &save))
		if (n < 16)
			tok[n++] = p;
		else
			return conf_err(err, errlen, "route: too many words");
	for (i = 0; i < n; i += 2) {
		if (!strcmp(tok[i], "direct"))
			break;
		if (i + 1 == n)
			return conf_err(err, errlen, "route: missing value for '%s'", tok[i]);
		if (!strcmp(tok[i], "to")) {
			if ((ret = dstmatch_parse_to(&r->dst, tok[i + 1])) == -ENOMEM)
				return ret;
			if (ret < 0)
				return conf_err(err, errlen,
						"route: to '%s' is not a CIDR, .SUFFIX, NAME or *",
						tok[i + 1]);
		} else if (!strcmp(tok[i], "port")) {
			if (dstmatch_parse_port(&r->dst, tok[i + 1]) < 0)
				return conf_err(err, errlen, "route: port '%s' is not N or N-M",
						tok[i + 1]);
		} else if (!strcmp(tok[i], "via")) {
			if ((ret = upstream_parse_via(t, r, tok[i + 1], err, errlen)) < 0)
				return ret;
			break;
		} else {
			return conf_err(err, errlen, "route: unexpected '%s'", tok[i]);
		}
	}
	if (i >= n)
		return conf_err(err, errlen,
				"route: needs `via NAME[,NAME...]` or `direct` at the end");
	i += strcmp(tok[i], "direct") ? 2 : 1;
	if (i < n)
		return conf_err(err, errlen, "route: unexpected '%s' after the target", tok[i]);
	return 0;
}

int upstream_add_route(struct upstream_table *t, const char *text, char *err, size_t errlen)
{
	struct upstream_route r = {0}, *v;
	char *copy = strdup(text);
	int ret = -ENOMEM;

	dstmatch_init(&r.dst);
	if (copy)
		ret = upstream_route_parse(t, &r, copy, err, errlen);
	free(copy);
	if (ret == 0) {
		v = realloc(t->routes, (t->nroutes + 1) * sizeof(*v));
		if (v) {
			t->routes = v;
			t->routes[t->nroutes++] = r;
			return 0;
		}
		ret = -ENOMEM;
	}
	if (ret == -ENOMEM)
		conf_err(err, errlen, "route: out of memory");
	dstmatch_clear(&r.dst);
	srvlist_free(r.via);
	return ret;
}

/* Names are never resolved for routing: a name request is judged by the name selectors only. */
static bool upstream_route_matches(const struct upstream_route *r, const char *name,
				   const struct sockaddr *addr, uint16_t port)
{
	return dstmatch_port(&r->dst, port) && dstmatch_to(&r->dst, name, addr) > 0;
}

const struct upstream_route *upstream_match(const struct upstream_table *t,
					    const struct socks5_addr *dst)
{
	struct sockaddr_storage ss;
	const struct sockaddr *addr = NULL;
	const char *name = NULL;

	if (!t)
		return NULL;
	if (dst->atyp == SOCKS5_ATYP_DOMAINNAME)
		name = dst->name;
	else if (socks5_addr_to_sockaddr(dst, &ss, NULL) == 0)
		addr = (const struct sockaddr *)&ss;
	for (size_t i = 0; i < t->nroutes; i++)
		if (upstream_route_matches(&t->routes[i], name, addr, dst->port))
			return t->routes[i].via ? &t->routes[i] : NULL;
	return NULL;
}

struct srvlist *upstream_route_via(const struct upstream_route *r)
{
	return r->via;
}
