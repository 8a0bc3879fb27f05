/* authpool.h — crypt(3) checks on a few threads off the event loops, results back to workers. */
#ifndef S46_AUTHPOOL_H
#define S46_AUTHPOOL_H

#include <stdbool.h>

struct worker;
struct gw_snap;
struct authpool;

/* One RFC 1929 check. The worker owns it except while the pool runs it. */
struct auth_job {
	struct auth_job *next;
	struct worker *w;     /* whose loop gets the result */
	struct gw_snap *snap; /* users database, referenced while the job lives */
	void *owner;	      /* the session waiting; NULL once it went away */
	bool ok;
	char user[256];
	char pass[256];
};

/* Starts nthreads checker threads. Returns 0 or -errno. */
int authpool_new(struct authpool **out, unsigned nthreads);
/* Stops and joins the threads; jobs still queued are dropped (freed). */
void authpool_free(struct authpool *p);
/* Queues j; when checked it is appended to j->w's finished list and the worker woken. */
void authpool_submit(struct authpool *p, struct auth_job *j);
/* Frees a job, wiping the password. */
void authpool_job_free(struct auth_job *j);

#endif
