/* fakeip.c — the fake-IP table: hashed both ways, LRU reuse of unheld entries, atomic saves. */
#include "fakeip.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "prefix.h"

#define FAKEIP_STATE_MAGIC "# socks46 fake-IP table v1"
#define FAKEIP_TTL_MAX 604800
/* 253 characters and the NUL. */
#define FAKEIP_NAME_MAX 254

struct fakeip_entry {
	struct fakeip_entry *name_next, *addr_next; /* hash chains */
	struct fakeip_entry *lru_prev, *lru_next;   /* linked only while refs == 0 */
	char *name;
	uint64_t last_used;
	unsigned refs;
	int af;
	uint8_t addr[16];
};

/* One family's pool: offsets first..last (host part) are handed out. */
struct fakeip_pool {
	int af;
	uint8_t base[16];
	unsigned alen;
	uint64_t first, last, cursor;
	size_t count, max;
	struct fakeip_entry *lru_head, *lru_tail;
};

struct fakeip {
	struct fakeip_config cfg;
	char *state_path;
	struct fakeip_pool pool4, pool6;
	struct fakeip_entry **by_name, **by_addr;
	size_t nbuckets, count;
	uint64_t seed;
	bool dirty;
	struct ev_loop *loop; /* fakeip_autosave's, NULL: saved by fakeip_flush and close only */
	struct ev_timer save_timer;
	unsigned long long allocated, reused, exhausted;
};

void fakeip_config_default(struct fakeip_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	inet_pton(AF_INET, "198.18.0.0", &cfg->pool4);
	cfg->prefix4 = 15;
	inet_pton(AF_INET6, "2001:2::", &cfg->pool6);
	cfg->prefix6 = 48;
	cfg->ttl_s = FAKEIP_DEFAULT_TTL;
}

int fakeip_config_set_pool(struct fakeip_config *cfg, const char *cidr)
{
	struct prefix p;

	/* Host bits set means a typo: refuse rather than guess the pool. */
	if (prefix_parse(cidr, PREFIX_NEED_LEN | PREFIX_EXACT, &p) < 0)
		return -EINVAL;
	/* At least two addresses: offset 0 is never handed out. */
	if (p.len < 1 || p.len > (p.af == AF_INET ? 30u : 126u))
		return -EINVAL;
	if (p.af == AF_INET) {
		if (p.addr[0] >= 224)
			return -EINVAL; /* multicast and class E: applications reject them */
		memcpy(&cfg->pool4, p.addr, 4);
		cfg->prefix4 = p.len;
	} else {
		if (p.addr[0] == 0xff)
			return -EINVAL;
		memcpy(&cfg->pool6, p.addr, 16);
		cfg->prefix6 = p.len;
	}
	return 0;
}

int fakeip_config_set_ttl(struct fakeip_config *cfg, const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v < 1 || v > FAKEIP_TTL_MAX)
		return -EINVAL;
	cfg->ttl_s = (unsigned)v;
	return 0;
}

bool fakeip_in_pool(const struct fakeip_config *cfg, int af, const void *addr)
{
	if (af == AF_INET)
		return prefix_bits_equal(addr, (const uint8_t *)&cfg->pool4, cfg->prefix4);
	if (af == AF_INET6)
		return prefix_bits_equal(addr, cfg->pool6.s6_addr, cfg->prefix6);
	return false;
}

static void fakeip_pool_init(struct fakeip_pool *p, int af, const void *base, unsigned prefix,
			     unsigned max)
{
	unsigned hostbits;

	p->af = af;
	p->alen = af == AF_INET ? 4 : 16;
	memcpy(p->base, base, p->alen);
	hostbits = p->alen * 8 - prefix;
	p->first = 1; /* not the network (IPv4) or subnet-router anycast (IPv6) address */
	if (hostbits >= 64)
		p->last = UINT64_MAX - 1;
	else
		p->last = ((uint64_t)1 << hostbits) - (af == AF_INET ? 2 : 1);
	p->cursor = p->first;
	p->max = max ? max : FAKEIP_MAX_ENTRIES;
	if (p->last - p->first + 1 < p->max)
		p->max = (size_t)(p->last - p->first + 1);
}

/* The address at offset off of the pool: the offset goes into the low 64 host bits. */
static void fakeip_pool_addr(const struct fakeip_pool *p, uint64_t off, uint8_t *out)
{
	memcpy(out, p->base, p->alen);
	for (unsigned i = p->alen; i-- > 0 && off; off >>= 8)
		out[i] |= (uint8_t)off;
}

/* Inverse of fakeip_pool_addr for addresses whose host part fits 64 bits, else UINT64_MAX. */
static uint64_t fakeip_pool_offset(const struct fakeip_pool *p, const uint8_t *a)
{
	uint64_t off = 0;

	for (unsigned i = 0; i < p->alen; i++) {
		uint8_t host = a[i] & (uint8_t)~p->base[i];

		if (p->alen - i > 8) {
			if (host)
				return UINT64_MAX;
			continue;
		}
		off = off << 8 | host;
	}
	return off;
}

/* Seeded FNV-1a with a final avalanche: names come from untrusted queries. */
static uint64_t fakeip_hash(const struct fakeip *t, int af, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed ^ (uint64_t)af;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct fakeip_entry **fakeip_name_slot(struct fakeip *t, int af, const char *name)
{
	return &t->by_name[fakeip_hash(t, af, name, strlen(name)) & (t->nbuckets - 1)];
}

static struct fakeip_entry **fakeip_addr_slot(struct fakeip *t, int af, const void *addr)
{
	return &t->by_addr[fakeip_hash(t, af, addr, af == AF_INET ? 4 : 16) & (t->nbuckets - 1)];
}

static struct fakeip_pool *fakeip_pool_of(struct fakeip *t, int af)
{
	return af == AF_INET ? &t->pool4 : af == AF_INET6 ? &t->pool6 : NULL;
}

static struct fakeip_entry *fakeip_find_name(struct fakeip *t, int af, const char *name)
{
	for (struct fakeip_entry *e = *fakeip_name_slot(t, af, name); e; e = e->name_next)
		if (e->af == af && !strcmp(e->name, name))
			return e;
	return NULL;
}

static struct fakeip_entry *fakeip_find_addr(struct fakeip *t, int af, const void *addr)
{
	for (struct fakeip_entry *e = *fakeip_addr_slot(t, af, addr); e; e = e->addr_next)
		if (e->af == af && !memcmp(e->addr, addr, af == AF_INET ? 4 : 16))
			return e;
	return NULL;
}

static void fakeip_name_unlink(struct fakeip *t, struct fakeip_entry *e)
{
	struct fakeip_entry **pp = fakeip_name_slot(t, e->af, e->name);

	while (*pp != e)
		pp = &(*pp)->name_next;
	*pp = e->name_next;
	e->name_next = NULL;
}

static void fakeip_name_link(struct fakeip *t, struct fakeip_entry *e)
{
	struct fakeip_entry **pp = fakeip_name_slot(t, e->af, e->name);

	e->name_next = *pp;
	*pp = e;
}

static void fakeip_addr_link(struct fakeip *t, struct fakeip_entry *e)
{
	struct fakeip_entry **pp = fakeip_addr_slot(t, e->af, e->addr);

	e->addr_next = *pp;
	*pp = e;
}

static void fakeip_lru_unlink(struct fakeip_pool *p, struct fakeip_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		p->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		p->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void fakeip_lru_append(struct fakeip_pool *p, struct fakeip_entry *e)
{
	e->lru_next = NULL;
	e->lru_prev = p->lru_tail;
	if (p->lru_tail)
		p->lru_tail->lru_next = e;
	else
		p->lru_head = e;
	p->lru_tail = e;
}

/* Doubles both bucket arrays once the table holds as many entries as buckets. */
static int fakeip_grow(struct fakeip *t)
{
	size_t n = t->nbuckets * 2;
	struct fakeip_entry **bn = calloc(n, sizeof(*bn)), **ba = calloc(n, sizeof(*ba));
	struct fakeip_entry **on = t->by_name, **oa = t->by_addr;
	size_t old = t->nbuckets;

	if (!bn || !ba) {
		free(bn);
		free(ba);
		return -ENOMEM;
	}
	t->by_name = bn;
	t->by_addr = ba;
	t->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		for (struct fakeip_entry *e = oa[i], *next; e; e = next) {
			next = e->addr_next;
			fakeip_addr_link(t, e);
		}
		for (struct fakeip_entry *e = on[i], *next; e; e = next) {
			next = e->name_next;
			fakeip_name_link(t, e);
		}
	}
	free(on);
	free(oa);
	return 0;
}

/* Lower case, no trailing dot, 1..253 characters, labels of 1..63 plain characters. */
static int fakeip_normalise(const char *name, char *out, size_t len)
{
	size_t n = strlen(name), label = 0;

	if (n && name[n - 1] == '.')
		n--;
	if (!n || n > 253 || n >= len)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if (c <= 0x20 || c >= 0x7f || c == '\\' || ++label > 63) {
			return -EINVAL;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return 0;
}

/* A new entry for name at a fresh offset, or NULL when the pool has none left. */
static struct fakeip_entry *fakeip_fresh(struct fakeip *t, struct fakeip_pool *p, const char *name,
					 int *err)
{
	struct fakeip_entry *e;
	uint8_t a[16];

	*err = 0;
	if (t->count >= t->nbuckets && (*err = fakeip_grow(t)))
		return NULL;
	while (p->count < p->max && p->cursor <= p->last) {
		fakeip_pool_addr(p, p->cursor++, a);
		if (fakeip_find_addr(t, p->af, a))
			continue; /* loaded from the state file */
		e = calloc(1, sizeof(*e));
		if (!e || !(e->name = strdup(name))) {
			free(e);
			p->cursor--;
			*err = -ENOMEM;
			return NULL;
		}
		e->af = p->af;
		memcpy(e->addr, a, p->alen);
		fakeip_addr_link(t, e);
		p->count++;
		t->count++;
		t->allocated++;
		return e;
	}
	return NULL;
}

/* The least recently used unheld entry, renamed, if its TTL has run out. */
static struct fakeip_entry *fakeip_reuse(struct fakeip *t, struct fakeip_pool *p, const char *name,
					 uint64_t now_s, int *err)
{
	struct fakeip_entry *e = p->lru_head;
	char *copy;

	*err = -ENOSPC;
	if (!e || now_s < e->last_used || now_s - e->last_used < t->cfg.ttl_s)
		return NULL;
	copy = strdup(name);
	if (!copy) {
		*err = -ENOMEM;
		return NULL;
	}
	fakeip_name_unlink(t, e);
	fakeip_lru_unlink(p, e);
	log_debug("fakeip: reusing an address of '%s' for '%s'", e->name, name);
	free(e->name);
	e->name = copy;
	t->reused++;
	*err = 0;
	return e;
}

/* A mapping was added or replaced: saved soon when autosave is on. */
static void fakeip_changed(struct fakeip *t)
{
	t->dirty = true;
	if (t->loop && !ev_timer_armed(&t->save_timer))
		ev_timer_start(t->loop, &t->save_timer, FAKEIP_SAVE_DELAY_MS);
}

int fakeip_lookup_name(struct fakeip *t, const char *name, int af, void *addr, uint64_t now_s)
{
	struct fakeip_pool *p = fakeip_pool_of(t, af);
	char norm[FAKEIP_NAME_MAX];
	struct fakeip_entry *e;
	int err;

	if (!p)
		return -EAFNOSUPPORT;
	err = fakeip_normalise(name, norm, sizeof(norm));
	if (err)
		return err;
	e = fakeip_find_name(t, af, norm);
	if (e) {
		if (!e->refs) {
			fakeip_lru_unlink(p, e);
			fakeip_lru_append(p, e);
		}
		goto out;
	}
	e = fakeip_fresh(t, p, norm, &err);
	if (!e && !err)
		e = fakeip_reuse(t, p, norm, now_s, &err);
	if (!e) {
		if (err == -ENOSPC)
			t->exhausted++;
		return err;
	}
	fakeip_name_link(t, e);
	fakeip_lru_append(p, e);
	fakeip_changed(t);
out:
	e->last_used = now_s;
	memcpy(addr, e->addr, p->alen);
	return 0;
}

int fakeip_lookup_addr(struct fakeip *t, int af, const void *addr, char *name, size_t len)
{
	struct fakeip_entry *e = fakeip_pool_of(t, af) ? fakeip_find_addr(t, af, addr) : NULL;

	if (!e)
		return -ENOENT;
	if (strlen(e->name) >= len)
		return -ENAMETOOLONG;
	strcpy(name, e->name);
	return 0;
}

int fakeip_hold(struct fakeip *t, int af, const void *addr, uint64_t now_s)
{
	struct fakeip_pool *p = fakeip_pool_of(t, af);
	struct fakeip_entry *e = p ? fakeip_find_addr(t, af, addr) : NULL;

	if (!e)
		return -ENOENT;
	if (!e->refs++)
		fakeip_lru_unlink(p, e);
	e->last_used = now_s;
	return 0;
}

void fakeip_release(struct fakeip *t, int af, const void *addr, uint64_t now_s)
{
	struct fakeip_pool *p = fakeip_pool_of(t, af);
	struct fakeip_entry *e = p ? fakeip_find_addr(t, af, addr) : NULL;

	if (!e || !e->refs)
		return;
	e->last_used = now_s;
	if (!--e->refs)
		fakeip_lru_append(p, e);
}

void fakeip_walk(struct fakeip *t, fakeip_walk_cb *fn, void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct fakeip_entry *e = t->by_addr[i]; e; e = e->addr_next)
			fn(e->name, e->af, e->addr, e->refs, e->last_used, arg);
}

void fakeip_get_stats(const struct fakeip *t, struct fakeip_stats *out)
{
	out->entries4 = t->pool4.count;
	out->entries6 = t->pool6.count;
	out->held = 0;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct fakeip_entry *e = t->by_addr[i]; e; e = e->addr_next)
			out->held += e->refs != 0;
	out->allocated = t->allocated;
	out->reused = t->reused;
	out->exhausted = t->exhausted;
}

const struct fakeip_config *fakeip_get_config(const struct fakeip *t)
{
	return &t->cfg;
}

static void fakeip_write_entry(FILE *f, const struct fakeip_entry *e, uint64_t last)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->af, e->addr, a, sizeof(a));
	fprintf(f, "%s %llu %s\n", a, (unsigned long long)last, e->name);
}

/* Unheld entries least recently used first, then held ones stamped now: loading the file
 * in order rebuilds the LRU order, and what was in use gets a full TTL after a restart. */
static void fakeip_write_pool(struct fakeip *t, FILE *f, const struct fakeip_pool *p, uint64_t now)
{
	for (const struct fakeip_entry *e = p->lru_head; e; e = e->lru_next)
		fakeip_write_entry(f, e, e->last_used);
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct fakeip_entry *e = t->by_addr[i]; e; e = e->addr_next)
			if (e->af == p->af && e->refs)
				fakeip_write_entry(f, e, now > e->last_used ? now : e->last_used);
}

/* The state directory may not exist on a fresh system. */
static void fakeip_make_parent(const char *path)
{
	char dir[PATH_MAX];

	if (strlen(path) >= sizeof(dir))
		return;
	strcpy(dir, path);
	mkdir(dirname(dir), 0755);
}

static int fakeip_save(struct fakeip *t)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int err = 0, n;

	if (!t->state_path)
		return 0;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", t->state_path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fakeip_make_parent(t->state_path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", FAKEIP_STATE_MAGIC);
	fakeip_write_pool(t, f, &t->pool4, (uint64_t)time(NULL));
	fakeip_write_pool(t, f, &t->pool6, (uint64_t)time(NULL));
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	f = NULL;
	if (!err && rename(tmp, t->state_path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	t->dirty = false;
	return 0;
}

int fakeip_flush(struct fakeip *t)
{
	return t->dirty ? fakeip_save(t) : 0;
}

static void fakeip_save_cb(struct ev_loop *loop, struct ev_timer *timer)
{
	struct fakeip *t = container_of(timer, struct fakeip, save_timer);
	int err = fakeip_flush(t);

	if (err)
		log_warnx("fakeip: cannot save %s: %s", t->state_path, strerror(-err));
}

void fakeip_autosave(struct fakeip *t, struct ev_loop *loop)
{
	t->loop = loop;
	ev_timer_init(&t->save_timer, fakeip_save_cb);
	if (t->dirty)
		ev_timer_start(loop, &t->save_timer, FAKEIP_SAVE_DELAY_MS);
}

/* Adds one loaded entry; lines that no longer fit the configuration are skipped. */
static int fakeip_load_entry(struct fakeip *t, const char *a, uint64_t last, uint64_t now,
			     const char *name)
{
	int af = strchr(a, ':') ? AF_INET6 : AF_INET;
	struct fakeip_pool *p = fakeip_pool_of(t, af);
	char norm[FAKEIP_NAME_MAX];
	struct fakeip_entry *e;
	uint8_t addr[16];
	uint64_t off;
	int err;

	if (inet_pton(af, a, addr) != 1 || fakeip_normalise(name, norm, sizeof(norm)) ||
	    !fakeip_in_pool(&t->cfg, af, addr))
		return -EINVAL;
	off = fakeip_pool_offset(p, addr);
	if (off < p->first || off > p->last || p->count >= p->max ||
	    fakeip_find_addr(t, af, addr) || fakeip_find_name(t, af, norm))
		return -EINVAL;
	if (t->count >= t->nbuckets && (err = fakeip_grow(t)))
		return err;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(norm))) {
		free(e);
		return -ENOMEM;
	}
	e->af = af;
	memcpy(e->addr, addr, p->alen);
	/* A stamp from the future (the clock was set back) would pin the entry. */
	e->last_used = last < now ? last : now;
	fakeip_addr_link(t, e);
	fakeip_name_link(t, e);
	fakeip_lru_append(p, e);
	p->count++;
	t->count++;
	return 0;
}

static int fakeip_load(struct fakeip *t)
{
	char line[512], a[INET6_ADDRSTRLEN], name[FAKEIP_NAME_MAX + 1];
	unsigned long long last;
	unsigned lineno = 0, skipped = 0;
	FILE *f;
	int err = 0;

	f = fopen(t->state_path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(line, sizeof(line), f) ||
	    strncmp(line, FAKEIP_STATE_MAGIC, strlen(FAKEIP_STATE_MAGIC))) {
		log_warnx("fakeip: %s is not a fake-IP state file, starting empty", t->state_path);
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (sscanf(line, "%45s %llu %254s", a, &last, name) != 3) {
			skipped++;
			continue;
		}
		err = fakeip_load_entry(t, a, last, (uint64_t)time(NULL), name);
		if (err == -ENOMEM)
			goto out;
		skipped += err != 0;
		err = 0;
	}
	if (skipped)
		log_warnx("fakeip: %s: skipped %u of %u entries (outside the pools or invalid)",
			  t->state_path, skipped, lineno);
	log_debug("fakeip: loaded %zu entries from %s", t->count, t->state_path);
out:
	fclose(f);
	return err;
}

static void fakeip_close_nosave(struct fakeip *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->by_addr && i < t->nbuckets; i++)
		for (struct fakeip_entry *e = t->by_addr[i], *next; e; e = next) {
			next = e->addr_next;
			free(e->name);
			free(e);
		}
	free(t->by_name);
	free(t->by_addr);
	free(t->state_path);
	free(t);
}

void fakeip_close(struct fakeip *t)
{
	int err;

	if (!t)
		return;
	if (t->loop)
		ev_timer_stop(t->loop, &t->save_timer);
	err = fakeip_save(t);
	if (err)
		log_warnx("fakeip: cannot save %s: %s", t->state_path, strerror(-err));
	fakeip_close_nosave(t);
}

int fakeip_open(struct fakeip **out, const struct fakeip_config *cfg)
{
	struct fakeip *t;
	int err = -ENOMEM;

	*out = NULL;
	if (cfg->prefix4 < 1 || cfg->prefix4 > 30 || cfg->prefix6 < 1 || cfg->prefix6 > 126 ||
	    !cfg->ttl_s)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	if (cfg->state_path && !(t->state_path = strdup(cfg->state_path)))
		goto fail;
	t->cfg.state_path = t->state_path;
	t->nbuckets = 256;
	t->by_name = calloc(t->nbuckets, sizeof(*t->by_name));
	t->by_addr = calloc(t->nbuckets, sizeof(*t->by_addr));
	if (!t->by_name || !t->by_addr)
		goto fail;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	fakeip_pool_init(&t->pool4, AF_INET, &cfg->pool4, cfg->prefix4, cfg->max_entries);
	fakeip_pool_init(&t->pool6, AF_INET6, &cfg->pool6, cfg->prefix6, cfg->max_entries);
	if (t->state_path && (err = fakeip_load(t)))
		goto fail;
	*out = t;
	return 0;
fail:
	fakeip_close_nosave(t);
	return err;
}
