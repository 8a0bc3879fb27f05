/* optinfile.h — the file of run-time opt-ins an agent attaches again when it starts. */
#ifndef S46_OPTINFILE_H
#define S46_OPTINFILE_H

#include <stddef.h>

/*
 * One opt-in a line, in the agent configuration's `key value` form, so the file reads like
 * a configuration fragment:
 *   cgroup /sys/fs/cgroup/system.slice/foo.service
 *   unit bar.service
 *   run /sys/fs/cgroup/socks46/run-1234      (the cgroup of one `socks46 run` command:
 *                                            attached again only while it exists)
 * Written whole (temporary file, then rename) on every change.
 */
#define OPTINFILE_PATH "/var/lib/socks46/optins"

enum optinfile_kind {
	OPTINFILE_CGROUP, /* `cgroup PATH` */
	OPTINFILE_UNIT,	  /* `unit NAME` */
	OPTINFILE_RUN,	  /* `run PATH` */
};

struct optinfile_item {
	enum optinfile_kind kind;
	const char *name; /* the unit name or the absolute cgroup path */
};

/* Calls fn for each entry of path (a missing file has none). Returns 0 or -errno. */
typedef void optinfile_cb(enum optinfile_kind kind, const char *name, void *arg);
int optinfile_read(const char *path, optinfile_cb *fn, void *arg);
/* Replaces path with the n items, atomically. Returns 0 or -errno. */
int optinfile_write(const char *path, const struct optinfile_item *items, size_t n);
/* Removes one entry (for `detach` with no agent running). Returns 1 if it was there, 0 if
 * not, or -errno. */
int optinfile_drop(const char *path, enum optinfile_kind kind, const char *name);

#endif
