/* authpool.c — password hashing is slow by design: it runs here, not on a worker loop. The
 * queue is bounded and fair: sources take turns, and a flood from one address sheds its own
 * logins, not everyone's. */
#include "authpool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "gateway.h"
#include "log.h"

/* At most one line a second about shed logins. */
#define AUTHPOOL_SHED_LOG_MS 1000

/* The clients behind one address (an IPv6 /64: what one host or site gets). */
struct authpool_src {
	struct list_head link; /* in the pool's srcs, in turn order */
	struct list_head jobs; /* newest first */
	unsigned n;
	struct in6_addr addr; /* IPv4 v4-mapped; IPv6 with the low 64 bits zero */
};

struct authpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct list_head srcs; /* sources with queued checks; the first one is next */
	unsigned nqueued, per_source, max_queued;
	unsigned long shed;		      /* logins shed since the last log line */
	uint64_t shed_log_ms;		      /* when that line was written */
	char shed_from[INET6_ADDRSTRLEN + 4]; /* the source of the latest one */
	bool stop;
	unsigned nthreads;
	pthread_t threads[];
};

void authpool_job_free(struct auth_job *j)
{
	if (!j)
		return;
	gw_snap_put(j->snap);
	explicit_bzero(j->pass, sizeof(j->pass));
	free(j);
}

static void authpool_key(const struct sockaddr *sa, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->s6_addr[10] = out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return;
	}
	*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!IN6_IS_ADDR_V4MAPPED(out))
		memset(&out->s6_addr[8], 0, 8);
}

static void authpool_src_name(const struct authpool_src *src, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (IN6_IS_ADDR_V4MAPPED(&src->addr)) {
		inet_ntop(AF_INET, &src->addr.s6_addr[12], buf, (socklen_t)len);
		return;
	}
	inet_ntop(AF_INET6, &src->addr, a, sizeof(a));
	snprintf(buf, len, "%s/64", a);
}

static struct authpool_src *authpool_find(struct authpool *p, const struct in6_addr *key)
{
	struct authpool_src *src;

	list_for_each_entry(src, &p->srcs,
			    link) if (!memcmp(&src->addr, key, sizeof(*key))) return src;
	return NULL;
}

/* Takes j out of its source's queue; a source left empty is freed. Under the lock. */
static void authpool_unqueue(struct authpool *p, struct auth_job *j)
{
	struct authpool_src *src = j->src;

	list_del(&j->link);
	j->src = NULL;
	p->nqueued--;
	if (--src->n)
		return;
	list_del(&src->link);
	free(src);
}

/* Writes the line about shed logins, if there are any to tell. */
static void authpool_log_shed(struct authpool *p)
{
	char from[sizeof(p->shed_from)];
	unsigned long n;

	pthread_mutex_lock(&p->lock);
	n = p->shed;
	p->shed = 0;
	p->shed_log_ms = ev_clock_ms();
	memcpy(from, p->shed_from, sizeof(from));
	pthread_mutex_unlock(&p->lock);
	if (n)
		log_warnx("authentication queue full: shed %lu login%s (at most %u queued per "
			  "client address, %u in all), latest from %s",
			  n, n == 1 ? "" : "s", p->per_source, p->max_queued, from);
}

static struct auth_job *authpool_take(struct authpool *p)
{
	struct authpool_src *src;
	struct auth_job *j = NULL;
	bool log;

	pthread_mutex_lock(&p->lock);
	while (list_empty(&p->srcs) && !p->stop)
		pthread_cond_wait(&p->cond, &p->lock);
	if (!p->stop) {
		/* One check per source in turn: the oldest of the first, which goes last. */
		src = list_first_entry(&p->srcs, struct authpool_src, link);
		j = list_entry(src->jobs.prev, struct auth_job, link);
		list_del(&src->link);
		list_add(&src->link, p->srcs.prev);
		authpool_unqueue(p, j);
	}
	log = p->shed && ev_clock_ms() - p->shed_log_ms >= AUTHPOOL_SHED_LOG_MS;
	pthread_mutex_unlock(&p->lock);
	if (log)
		authpool_log_shed(p);
	return j;
}

static void *authpool_thread(void *arg)
{
	struct authpool *p = arg;
	struct auth_job *j;

	while ((j = authpool_take(p))) {
		j->ok = auth_check(j->snap->auth, j->user, j->pass);
		explicit_bzero(j->pass, sizeof(j->pass));
		worker_auth_done(j->w, j);
	}
	return NULL;
}

int authpool_new(struct authpool **out, unsigned nthreads, unsigned per_source, unsigned max_queued)
{
	struct authpool *p = calloc(1, sizeof(*p) + nthreads * sizeof(pthread_t));
	int err;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	list_init(&p->srcs);
	p->per_source = per_source;
	p->max_queued = max_queued;
	for (; p->nthreads < nthreads; p->nthreads++) {
		err = pthread_create(&p->threads[p->nthreads], NULL, authpool_thread, p);
		if (err) {
			authpool_free(p);
			return -err;
		}
	}
	*out = p;
	return 0;
}

void authpool_free(struct authpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while (!list_empty(&p->srcs)) {
		struct authpool_src *src = list_first_entry(&p->srcs, struct authpool_src, link);
		struct auth_job *j = list_first_entry(&src->jobs, struct auth_job, link);

		authpool_unqueue(p, j); /* frees src with its last job */
		authpool_job_free(j);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The source with the most checks queued. Under the lock, with the queue not empty. */
static struct authpool_src *authpool_heaviest(struct authpool *p)
{
	struct authpool_src *src, *max = NULL;

	list_for_each_entry(src, &p->srcs, link) if (!max || src->n > max->n) max = src;
	return max;
}

/* Under the lock: 0 with j queued, a victim to shed in *victim; or -EAGAIN/-ENOMEM. */
static int authpool_enqueue(struct authpool *p, struct auth_job *j, const struct in6_addr *key,
			    struct auth_job **victim)
{
	struct authpool_src *src = authpool_find(p, key), *max;
	unsigned n = src ? src->n : 0;

	if (n >= p->per_source)
		return -EAGAIN;
	if (p->nqueued >= p->max_queued) {
		/* Shed the newest login of the heaviest source: this one, if that is its own. */
		max = authpool_heaviest(p);
		if (n + 1 >= max->n)
			return -EAGAIN;
		*victim = list_first_entry(&max->jobs, struct auth_job, link);
		authpool_src_name(max, p->shed_from, sizeof(p->shed_from));
		authpool_unqueue(p, *victim);
	}
	if (!src) {
		src = calloc(1, sizeof(*src));
		if (!src)
			return -ENOMEM;
		src->addr = *key;
		list_init(&src->jobs);
		list_add(&src->link, p->srcs.prev);
	}
	list_add(&j->link, &src->jobs);
	j->src = src;
	src->n++;
	p->nqueued++;
	pthread_cond_signal(&p->cond);
	return 0;
}

int authpool_submit(struct authpool *p, struct auth_job *j, const struct sockaddr *client)
{
	struct auth_job *victim = NULL;
	struct in6_addr key;
	bool log = false;
	int ret;

	authpool_key(client, &key);
	j->src = NULL;
	pthread_mutex_lock(&p->lock);
	ret = authpool_enqueue(p, j, &key, &victim);
	if (ret == -EAGAIN || victim) {
		if (ret == -EAGAIN) {
			struct authpool_src tmp = {.addr = key};

			authpool_src_name(&tmp, p->shed_from, sizeof(p->shed_from));
		}
		p->shed++;
		log = ev_clock_ms() - p->shed_log_ms >= AUTHPOOL_SHED_LOG_MS;
	}
	pthread_mutex_unlock(&p->lock);
	if (victim) {
		victim->shed = true;
		victim->ok = false;
		explicit_bzero(victim->pass, sizeof(victim->pass));
		worker_auth_done(victim->w, victim);
	}
	if (log)
		authpool_log_shed(p);
	return ret;
}

void authpool_cancel(struct authpool *p, struct auth_job *j)
{
	bool queued;

	pthread_mutex_lock(&p->lock);
	queued = j->src != NULL;
	if (queued)
		authpool_unqueue(p, j);
	pthread_mutex_unlock(&p->lock);
	if (queued)
		authpool_job_free(j);
	else
		j->owner = NULL;
}
