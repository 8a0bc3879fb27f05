/* srvlist.c — ordered SOCKS5 servers: failover order, and swapping the list under live requests. */
#include "srvlist.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

/* The servers at one time; shared by the list and the iterations that started on it. */
struct srvlist_set {
	atomic_uint refs;
	unsigned n;
	struct srv *srv[SRVLIST_MAX];
};

struct srvlist {
	struct srvlist_set *set;
};

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
	srvlist_free(next);
}

void srvlist_iter_start(struct srvlist_iter *it, struct srvlist *l)
{
	it->set = srvlist_set_ref(l->set);
	it->tried = 0;
}

struct srv *srvlist_next(struct srvlist_iter *it, uint64_t now)
{
	const struct srvlist_set *set = it->set;
	int pick = -1;

	for (unsigned i = 0; i < set->n && pick < 0; i++)
		if (!(it->tried & (1u << i)) && !srv_is_bad(set->srv[i], now))
			pick = (int)i;
	for (unsigned i = 0; i < set->n && pick < 0; i++)
		if (!(it->tried & (1u << i)))
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
