/* authpool.h — crypt(3) checks on a few threads off the event loops, results back to workers. */
#ifndef S46_AUTHPOOL_H
#define S46_AUTHPOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "list.h"

/* Checks queued per client address (IPv6: per /64) and per hashing thread, in all. */
#define AUTHPOOL_PER_SOURCE 8
#define AUTHPOOL_PER_THREAD 64

struct worker;
struct gw_snap;
struct authpool;
struct authpool_src;

/* One RFC 1929 check. The worker owns it except while the pool holds it. */
struct auth_job {
	struct list_head link;	  /* in its source's queue while queued */
	struct authpool_src *src; /* its source while queued; NULL once taken or shed */
	struct auth_job *next;	  /* in the worker's finished list */
	struct worker *w;	  /* whose loop gets the result */
	struct gw_snap *snap;	  /* users database, referenced while the job lives */
	void *owner;		  /* the session waiting; NULL once it went away */
	bool ok;
	bool shed; /* dropped unchecked to bound the queue: the login fails */
	char user[256];
	char pass[256];
};

/*
 * Starts nthreads checker threads, with at most per_source checks queued per
 * client address and max_queued in all. Returns 0 or -errno.
 */
int authpool_new(struct authpool **out, unsigned nthreads, unsigned per_source,
		 unsigned max_queued);
/* Stops and joins the threads; jobs still queued are dropped (freed). */
void authpool_free(struct authpool *p);
/*
 * Queues j, a login from client. When checked (or shed) it is appended to
 * j->w's finished list and the worker woken. Sources take turns, one check
 * each. -EAGAIN: client's address has per_source checks queued already, or the
 * queue is full and its address has the most queued: j is not queued (the
 * caller still owns it) and the login fails. When the queue is full, the
 * newest check of the address with the most queued is shed instead.
 */
int authpool_submit(struct authpool *p, struct auth_job *j, const struct sockaddr *client);
/*
 * j's session went away (on its worker's thread): a queued j is dropped and
 * freed at once; one being checked comes back to the worker, which frees it.
 */
void authpool_cancel(struct authpool *p, struct auth_job *j);
/* Frees a job, wiping the password. */
void authpool_job_free(struct auth_job *j);

#endif
