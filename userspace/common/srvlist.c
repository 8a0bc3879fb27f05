/* srvlist.c — SOCKS5 servers: the policies' walking orders, and swapping the list under live
 * requests. */
#include "srvlist.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The servers at one time; shared by the list and the iterations that started on it. */
struct srvlist_set {
	atomic_uint refs;
	unsigned n;
	struct srv *srv[SRVLIST_MAX];
};

struct srvlist {
	struct srvlist_set *set;
	enum srvlist_policy policy;
	atomic_uint turn; /* where the next round-robin walk starts */
};

static const char *const srvlist_policies[] = {
    [SRVLIST_FAILOVER] = "failover",
    [SRVLIST_ROUND_ROBIN] = "round-robin",
    [SRVLIST_LEAST_CONNS] = "least-conns",
    [SRVLIST_HASH] = "hash",
};

int srvlist_policy_parse(const char *text, enum srvlist_policy *out)
{
	for (unsigned i = 0; i < sizeof(srvlist_policies) / sizeof(*srvlist_policies); i++) {
		if (!strcmp(text, srvlist_policies[i])) {
			*out = (enum srvlist_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *srvlist_policy_name(enum srvlist_policy p)
{
	return (unsigned)p < sizeof(srvlist_policies) / sizeof(*srvlist_policies)
		   ? srvlist_policies[p]
		   : "?";
}

static struct srvlist_set *srvlist_set_ref(struct srvlist_set *set)
{
	atomic_fetch_add(&set->refs, 1);
	return set;
}

static void srvlist_set_put(struct srvlist_set *set)
{
	if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < set->n; i++)
		srv_free(set->srv[i]);
	free(set);
}

int srvlist_new(struct srvlist **out)
{
	struct srvlist *l = calloc(1, sizeof(*l));

	if (l)
		l->set = calloc(1, sizeof(*l->set));
	if (!l || !l->set) {
		free(l);
		return -ENOMEM;
	}
	atomic_init(&l->set->refs, 1);
	*out = l;
	return 0;
}

void srvlist_set_policy(struct srvlist *l, enum srvlist_policy p)
{
	l->policy = p;
}

enum srvlist_policy srvlist_get_policy(const struct srvlist *l)
{
	return l->policy;
}

void srvlist_free(struct srvlist *l)
{
	if (!l)
		return;
	srvlist_set_put(l->set);
	free(l);
}

int srvlist_add(struct srvlist *l, struct srv *s)
{
	if (l->set->n == SRVLIST_MAX)
		return -E2BIG;
	l->set->srv[l->set->n++] = srv_ref(s);
	return 0;
}

unsigned srvlist_count(const struct srvlist *l)
{
	return l->set->n;
}

/* The server of old that s stands for: same place, the same login preferred. */
static struct srv *srvlist_set_find(const struct srvlist_set *old, const struct srv *s)
{
	struct srv *place = NULL;

	for (unsigned i = 0; i < old->n; i++) {
		if (srv_same(old->srv[i], s))
			return old->srv[i];
		if (!place && srv_same_place(old->srv[i], s))
			place = old->srv[i];
	}
	return place;
}

void srvlist_swap(struct srvlist *l, struct srvlist *next)
{
	struct srvlist_set *set = next->set;

	for (unsigned i = 0; i < set->n; i++) {
		struct srv *o = srvlist_set_find(l->set, set->srv[i]);

		if (o && srv_same(o, set->srv[i])) {
			srv_free(set->srv[i]);
			set->srv[i] = srv_ref(o);
		} else if (o) {
			srv_copy_health(set->srv[i], o);
		}
	}
	next->set = l->set;
	l->set = set;
	l->policy = next->policy;
	srvlist_free(next);
}

/* FNV-1a over s, continuing from h. */
static uint64_t srvlist_fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

/* The rendezvous weight of server s for key: the highest weight wins, so removing a server
 * moves only the keys it had. The final mix spreads FNV's weak low bits. */
static uint64_t srvlist_weight(const char *key, const struct srv *s)
{
	uint64_t h = srvlist_fnv(srvlist_fnv(0xcbf29ce484222325ULL, key), s->name);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* Sorts order[0..n) by key[] (ascending, or descending when desc), stably. */
static void srvlist_sort(uint8_t *order, const uint64_t *key, unsigned n, bool desc)
{
	for (unsigned i = 1; i < n; i++) {
		uint8_t o = order[i];
		unsigned j = i;

		for (; j > 0 && (desc ? key[order[j - 1]] < key[o] : key[order[j - 1]] > key[o]);
		     j--)
			order[j] = order[j - 1];
		order[j] = o;
	}
}

/* Rotates order[0..n) left by k. */
static void srvlist_rotate(uint8_t *order, unsigned n, unsigned k)
{
	uint8_t tmp[SRVLIST_MAX];

	for (unsigned i = 0; i < n; i++)
		tmp[i] = order[(i + k) % n];
	memcpy(order, tmp, n);
}

/* Puts the servers not bad at now first (in list order); returns how many. */
static unsigned srvlist_good_first(struct srvlist_iter *it, uint64_t now)
{
	const struct srvlist_set *set = it->set;
	unsigned good = 0, k = 0;

	for (unsigned i = 0; i < set->n; i++)
		if (!srv_is_bad(set->srv[i], now))
			it->order[k++] = (uint8_t)i;
	good = k;
	for (unsigned i = 0; i < set->n; i++)
		if (srv_is_bad(set->srv[i], now))
			it->order[k++] = (uint8_t)i;
	return good;
}

static void srvlist_order(struct srvlist_iter *it, struct srvlist *l, const char *key, uint64_t now)
{
	const struct srvlist_set *set = it->set;
	uint64_t weight[SRVLIST_MAX];
	unsigned n = set->n, start;

	for (unsigned i = 0; i < n; i++)
		it->order[i] = (uint8_t)i;
	if (!n || l->policy == SRVLIST_FAILOVER)
		return;
	if (l->policy == SRVLIST_HASH && key) {
		for (unsigned i = 0; i < n; i++)
			weight[i] = srvlist_weight(key, set->srv[i]);
		srvlist_sort(it->order, weight, n, true);
		return;
	}
	/* Turns go round the good servers only, or a bad one's turns would all fall to the
	 * one after it. */
	start = atomic_fetch_add(&l->turn, 1);
	n = srvlist_good_first(it, now);
	if (!n)
		n = set->n;
	if (l->policy == SRVLIST_LEAST_CONNS) {
		for (unsigned i = 0; i < set->n; i++)
			weight[i] = srv_inflight(set->srv[i]);
		srvlist_sort(it->order, weight, n, false);
		/* The least busy ones take turns (sequential requests find them all idle). */
		while (n > 1 && weight[it->order[n - 1]] != weight[it->order[0]])
			n--;
	}
	srvlist_rotate(it->order, n, start % n);
}

void srvlist_iter_start_key(struct srvlist_iter *it, struct srvlist *l, const char *key,
			    uint64_t now)
{
	it->set = srvlist_set_ref(l->set);
	it->tried = 0;
	srvlist_order(it, l, key, now);
}

void srvlist_iter_start(struct srvlist_iter *it, struct srvlist *l)
{
	srvlist_iter_start_key(it, l, NULL, UINT64_MAX);
}

struct srv *srvlist_next(struct srvlist_iter *it, uint64_t now)
{
	const struct srvlist_set *set = it->set;
	int pick = -1;

	for (unsigned k = 0, i; k < set->n && pick < 0; k++)
		if (!(it->tried & (1u << (i = it->order[k]))) && !srv_is_bad(set->srv[i], now))
			pick = (int)i;
	for (unsigned k = 0, i; k < set->n && pick < 0; k++)
		if (!(it->tried & (1u << (i = it->order[k]))))
			pick = (int)i;
	if (pick < 0)
		return NULL;
	it->tried |= 1u << pick;
	return set->srv[pick];
}

bool srvlist_iter_left(const struct srvlist_iter *it)
{
	return it->tried != (it->set->n == 32 ? ~0u : (1u << it->set->n) - 1);
}

unsigned srvlist_iter_count(const struct srvlist_iter *it)
{
	return it->set->n;
}

void srvlist_iter_end(struct srvlist_iter *it)
{
	srvlist_set_put(it->set);
	it->set = NULL;
}

void srvlist_walk(const struct srvlist *l, srvlist_walk_fn *fn, void *arg)
{
	for (unsigned i = 0; i < l->set->n; i++)
		fn(l->set->srv[i], arg);
}
