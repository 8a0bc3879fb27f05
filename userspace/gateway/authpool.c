/* authpool.c — password hashing is slow by design: it runs here, not on a worker loop. */
#include "authpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"

struct authpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct auth_job *head, **tail;
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

static struct auth_job *authpool_take(struct authpool *p)
{
	struct auth_job *j;

	pthread_mutex_lock(&p->lock);
	while (!p->head && !p->stop)
		pthread_cond_wait(&p->cond, &p->lock);
	j = p->head;
	if (j && !p->stop) {
		p->head = j->next;
		if (!p->head)
			p->tail = &p->head;
	} else {
		j = NULL;
	}
	pthread_mutex_unlock(&p->lock);
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

int authpool_new(struct authpool **out, unsigned nthreads)
{
	struct authpool *p = calloc(1, sizeof(*p) + nthreads * sizeof(pthread_t));
	int err;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->tail = &p->head;
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
	struct auth_job *j;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((j = p->head)) {
		p->head = j->next;
		authpool_job_free(j);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void authpool_submit(struct authpool *p, struct auth_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&p->lock);
	*p->tail = j;
	p->tail = &j->next;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
