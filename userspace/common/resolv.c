/* resolv.c — c-ares driven by the ev loop (sockets + timeout timer) and a per-thread TTL cache. */
#include "resolv.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <netdb.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define RESOLV_BUCKETS 1024
#define RESOLV_TTL_MIN_S 1
#define RESOLV_TTL_MAX_S 3600

struct resolv_entry {
	struct resolv_entry *next;
	uint64_t expires_ms;
	int family;
	int err;
	uint8_t n;
	struct sockaddr_storage *addrs;
	char name[];
};

struct resolv {
	struct ev_loop *loop;
	ares_channel channel;
	struct ev_timer timer;
	struct resolv_opts opts;
	unsigned cache_n;
	struct resolv_entry *cache[RESOLV_BUCKETS];
};

struct resolv_query {
	struct resolv *r;
	resolv_cb *cb;
	void *arg;
	bool cancelled;
	int remaining;	       /* families not yet delivered */
	struct ev_timer kick;  /* starts the lookup from the loop */
	resolv_ptr_cb *ptr_cb; /* set for a reverse lookup */
	struct sockaddr_storage ptr_addr;
	char name[256];
};

/* One c-ares request per family; it points back to the shared query. */
struct resolv_req {
	struct resolv_query *q;
	int family;
};

static pthread_once_t resolv_once = PTHREAD_ONCE_INIT;
static int resolv_init_status;

static void resolv_library_init(void)
{
	resolv_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

int resolv_errno(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
		return ENOENT;
	case ARES_ENODATA:
		return ENODATA;
	case ARES_ENOMEM:
		return ENOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return ECANCELED;
	default:
		return EHOSTUNREACH;
	}
}

/* ---- cache ---- */

static unsigned resolv_hash(const char *name, int family)
{
	unsigned h = 2166136261u ^ (unsigned)family;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % RESOLV_BUCKETS;
}

static void resolv_cache_flush(struct resolv *r, bool all)
{
	uint64_t now = ev_now(r->loop);

	for (unsigned i = 0; i < RESOLV_BUCKETS; i++) {
		struct resolv_entry **pp = &r->cache[i];

		while (*pp) {
			struct resolv_entry *e = *pp;

			if (!all && e->expires_ms > now) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			free(e->addrs);
			free(e);
			r->cache_n--;
		}
	}
}

static struct resolv_entry *resolv_cache_find(struct resolv *r, const char *name, int family)
{
	struct resolv_entry *e = r->cache[resolv_hash(name, family)];

	for (; e; e = e->next)
		if (e->family == family && !strcmp(e->name, name))
			return e->expires_ms > ev_now(r->loop) ? e : NULL;
	return NULL;
}

static void resolv_cache_put(struct resolv *r, const char *name, int family, int err,
			     const struct sockaddr_storage *addrs, size_t n, unsigned ttl_s)
{
	unsigned h = resolv_hash(name, family);
	struct resolv_entry *e, **pp;

	if (!r->opts.cache_max || (err && err != ENOENT && err != ENODATA))
		return;
	for (pp = &r->cache[h]; *pp; pp = &(*pp)->next) {
		if ((*pp)->family == family && !strcmp((*pp)->name, name)) {
			e = *pp;
			*pp = e->next;
			free(e->addrs);
			free(e);
			r->cache_n--;
			break;
		}
	}
	if (r->cache_n >= r->opts.cache_max)
		resolv_cache_flush(r, false);
	if (r->cache_n >= r->opts.cache_max)
		resolv_cache_flush(r, true);
	e = calloc(1, sizeof(*e) + strlen(name) + 1);
	if (!e)
		return;
	if (n && !(e->addrs = malloc(n * sizeof(*addrs)))) {
		free(e);
		return;
	}
	if (n)
		memcpy(e->addrs, addrs, n * sizeof(*addrs));
	strcpy(e->name, name);
	e->family = family;
	e->err = err;
	e->n = (uint8_t)n;
	e->expires_ms = ev_now(r->loop) + (uint64_t)ttl_s * 1000;
	e->next = r->cache[h];
	r->cache[h] = e;
	r->cache_n++;
}

/* ---- c-ares plumbing ---- */

static void resolv_rearm(struct resolv *r)
{
	struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);

	if (!tvp) {
		ev_timer_stop(r->loop, &r->timer);
		return;
	}
	ev_timer_start(r->loop, &r->timer,
		       (uint64_t)tvp->tv_sec * 1000 + (uint64_t)(tvp->tv_usec + 999) / 1000);
}

static void resolv_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct resolv *r = arg;

	ares_process_fd(r->channel, events & EV_READ ? fd : ARES_SOCKET_BAD,
			events & EV_WRITE ? fd : ARES_SOCKET_BAD);
	resolv_rearm(r);
}

static void resolv_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct resolv *r = container_of(t, struct resolv, timer);

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolv_rearm(r);
}

static void resolv_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolv *r = data;
	unsigned want = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	if (!want)
		ev_io_del(r->loop, fd);
	else if (ev_io_mod(r->loop, fd, want) == -ENOENT)
		ev_io_add(r->loop, fd, want, resolv_io_cb, r);
}

/* Runs before c-ares connects the socket: a cgroup connect hook sees the mark (an agent
 * attached to the gateway's cgroup leaves its DNS alone only then). */
static int resolv_sock_config_cb(ares_socket_t fd, int type, void *data)
{
	struct resolv *r = data;

	if (r->opts.mark &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &r->opts.mark, sizeof(r->opts.mark)) < 0) {
		log_warn("resolv: SO_MARK on DNS socket");
		return -1;
	}
	return 0;
}

/* ---- queries ---- */

static void resolv_deliver(struct resolv_query *q, int family, int err,
			   const struct sockaddr_storage *addrs, size_t n)
{
	q->remaining--;
	if (!q->cancelled)
		q->cb(q->arg, family, err, addrs, n, q->remaining);
	if (q->remaining == 0) {
		ev_timer_stop(q->r->loop, &q->kick);
		free(q);
	}
}

static void resolv_ares_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct resolv_req *req = arg;
	struct resolv_query *q = req->q;
	struct sockaddr_storage addrs[RESOLV_MAX_ADDRS];
	int ttl = RESOLV_TTL_MAX_S, family = req->family, err = resolv_errno(status);
	size_t n = 0;

	free(req);
	for (struct ares_addrinfo_node *ai = res ? res->nodes : NULL; ai && n < RESOLV_MAX_ADDRS;
	     ai = ai->ai_next) {
		if (ai->ai_family != family || ai->ai_addrlen > sizeof(addrs[0]))
			continue;
		memset(&addrs[n], 0, sizeof(addrs[n]));
		memcpy(&addrs[n], ai->ai_addr, ai->ai_addrlen);
		if (ai->ai_ttl < ttl)
			ttl = ai->ai_ttl;
		n++;
	}
	if (res)
		ares_freeaddrinfo(res);
	if (!err && !n)
		err = ENODATA;
	if (err == ENOENT || err == ENODATA)
		ttl = (int)q->r->opts.negative_ttl_s;
	if (ttl < RESOLV_TTL_MIN_S)
		ttl = RESOLV_TTL_MIN_S;
	if (err != ECANCELED)
		resolv_cache_put(q->r, q->name, family, err, addrs, n, (unsigned)ttl);
	resolv_deliver(q, family, err, addrs, n);
}

static int resolv_start_family(struct resolv_query *q, int family)
{
	struct ares_addrinfo_hints hints = {
	    .ai_flags = ARES_AI_NOSORT,
	    .ai_family = family,
	    .ai_socktype = SOCK_STREAM,
	};
	struct resolv_req *req = malloc(sizeof(*req));

	if (!req)
		return -ENOMEM;
	req->q = q;
	req->family = family;
	ares_getaddrinfo(q->r->channel, q->name, NULL, &hints, resolv_ares_cb, req);
	return 0;
}

/*
 * RFC 6761 section 6.3: localhost names are loopback, answered here without a
 * query (c-ares 1.18 also leaks its own synthesized localhost answer).
 */
static bool resolv_localhost(struct resolv_query *q, int family)
{
	size_t n = strlen(q->name);
	struct sockaddr_storage ss = {0};

	if (strcmp(q->name, "localhost") && (n < 10 || strcmp(q->name + n - 10, ".localhost")))
		return false;
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	resolv_deliver(q, family, 0, &ss, 1);
	return true;
}

/*
 * Runs from the loop, so that no answer (cached, or from the hosts file, which
 * c-ares answers inside ares_getaddrinfo) reaches the caller inside
 * resolv_lookup. Every delivery may free q.
 */
static void resolv_kick_cb(struct ev_loop *loop, struct ev_timer *t)
{
	static const int families[2] = {AF_INET6, AF_INET};
	struct resolv_query *q = container_of(t, struct resolv_query, kick);
	struct resolv *r = q->r;

	if (q->cancelled) {
		free(q);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct resolv_entry *e = resolv_cache_find(r, q->name, families[i]);
		bool last = q->remaining == 1 || i == 1;

		if (resolv_localhost(q, families[i]))
			;
		else if (e)
			resolv_deliver(q, families[i], e->err, e->addrs, e->n);
		else if (resolv_start_family(q, families[i]) < 0)
			resolv_deliver(q, families[i], ENOMEM, NULL, 0);
		if (last)
			break;
	}
	resolv_rearm(r);
}

struct resolv_query *resolv_lookup(struct resolv *r, const char *name, resolv_cb *cb, void *arg)
{
	struct resolv_query *q = calloc(1, sizeof(*q));
	size_t len = strnlen(name, sizeof(q->name));

	if (!q || len >= sizeof(q->name)) {
		free(q);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		q->name[i] = (char)tolower((unsigned char)name[i]);
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->remaining = 2;
	ev_timer_init(&q->kick, resolv_kick_cb);
	if (ev_timer_start(r->loop, &q->kick, 0) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

static void resolv_ptr_ares_cb(void *arg, int status, int timeouts, struct hostent *he)
{
	struct resolv_query *q = arg;
	int err = resolv_errno(status);

	if (!err && (!he || !he->h_name || !*he->h_name))
		err = ENOENT;
	if (!q->cancelled)
		q->ptr_cb(q->arg, err, err ? NULL : he->h_name);
	free(q);
}

static void resolv_ptr_kick_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct resolv_query *q = container_of(t, struct resolv_query, kick);
	const struct sockaddr *sa = (const struct sockaddr *)&q->ptr_addr;
	struct resolv *r = q->r;
	const void *a;
	int len;

	if (q->cancelled) {
		free(q);
		return;
	}
	if (sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		len = 4;
	} else {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		len = 16;
	}
	ares_gethostbyaddr(r->channel, a, len, sa->sa_family, resolv_ptr_ares_cb, q);
	resolv_rearm(r);
}

struct resolv_query *resolv_reverse(struct resolv *r, const struct sockaddr *sa, resolv_ptr_cb *cb,
				    void *arg)
{
	struct resolv_query *q;
	size_t len = sa->sa_family == AF_INET	 ? sizeof(struct sockaddr_in)
		     : sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : 0;

	if (!len || !(q = calloc(1, sizeof(*q))))
		return NULL;
	q->r = r;
	q->ptr_cb = cb;
	q->arg = arg;
	memcpy(&q->ptr_addr, sa, len);
	ev_timer_init(&q->kick, resolv_ptr_kick_cb);
	if (ev_timer_start(r->loop, &q->kick, 0) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

void resolv_cancel(struct resolv_query *q)
{
	if (q)
		q->cancelled = true;
}

static int resolv_apply_servers(struct resolv *r)
{
	int st;

	if (!r->opts.dns_server)
		return 0;
	st = ares_set_servers_ports_csv(r->channel, r->opts.dns_server);
	return st == ARES_SUCCESS ? 0 : -EINVAL;
}

int resolv_new(struct resolv **out, struct ev_loop *loop, const struct resolv_opts *opts)
{
	struct ares_options ao = {0};
	int mask = ARES_OPT_SOCK_STATE_CB;
	struct resolv *r;
	int st, err;

	pthread_once(&resolv_once, resolv_library_init);
	r = calloc(1, sizeof(*r));
	if (!r || resolv_init_status != ARES_SUCCESS) {
		free(r);
		return -ENOMEM;
	}
	r->loop = loop;
	r->opts = *opts;
	ev_timer_init(&r->timer, resolv_timer_cb);
	ao.sock_state_cb = resolv_sock_state_cb;
	ao.sock_state_cb_data = r;
	if (opts->resolv_conf) {
		ao.resolvconf_path = (char *)opts->resolv_conf;
		mask |= ARES_OPT_RESOLVCONF;
	}
	if (opts->timeout_ms) {
		ao.timeout = (int)opts->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (opts->tries) {
		ao.tries = (int)opts->tries;
		mask |= ARES_OPT_TRIES;
	}
	st = ares_init_options(&r->channel, &ao, mask);
	if (st != ARES_SUCCESS) {
		log_error("resolv: %s", ares_strerror(st));
		free(r);
		return st == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	ares_set_socket_configure_callback(r->channel, resolv_sock_config_cb, r);
	if ((err = resolv_apply_servers(r)) < 0) {
		ares_destroy(r->channel);
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void resolv_free(struct resolv *r)
{
	if (!r)
		return;
	ares_destroy(r->channel);
	ev_timer_stop(r->loop, &r->timer);
	resolv_cache_flush(r, true);
	free(r);
}
