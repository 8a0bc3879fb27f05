/* optin.h — the cgroups the agent redirects, by path or unit, followed and kept across restarts. */
#ifndef S46_OPTIN_H
#define S46_OPTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct bpfload;
struct optin;

enum optin_origin {
	OPTIN_CONFIG,	 /* --cgroup / --unit, or the configuration file */
	OPTIN_RUNTIME,	 /* socks46 attach: recorded in the opt-in file */
	OPTIN_TRANSIENT, /* socks46 run: one command's cgroup, forgotten when removed */
};

/* state: the opt-in file (optinfile.h), NULL to keep nothing. Returns 0 or -errno. */
int optin_new(struct optin **out, struct ev_loop *loop, struct bpfload *bpf, const char *state);
/* Forgets everything; pinned links stay (see bpfload_close). NULL is fine. */
void optin_free(struct optin *o);

/*
 * Opts a cgroup in: name is a cgroup path (absolute, or relative to the cgroup2 mount) or,
 * with unit, a unit name (NAME.service, .scope or .slice; a bare NAME means NAME.service).
 * A path whose directory does not exist yet, or a unit that is not running, is attached
 * when its cgroup appears. Adding what is there already succeeds. msg gets one line for
 * the operator: what happened, or the error. Returns 0 or -errno.
 */
int optin_add(struct optin *o, const char *name, bool unit, enum optin_origin origin, char *msg,
	      size_t len);
/* Opts out; removing what is not there succeeds (msg says so). Returns 0 or -errno. */
int optin_remove(struct optin *o, const char *name, bool unit, char *msg, size_t len);
/* Makes the configured opt-ins (origin OPTIN_CONFIG) those named: at start-up, and on a
 * reload. One not configured before is added, one no longer configured removed; a name
 * opted in at run time stays as it is. On failure (msg says why) nothing changes.
 * Returns 0 or -errno. */
int optin_configure(struct optin *o, const char *const *cgroups, unsigned ncgroups,
		    const char *const *units, unsigned nunits, char *msg, size_t len);
/* At start-up: opts in again what the opt-in file lists, and takes over as run-time opt-ins
 * the cgroups an earlier agent pinned links for that nothing names. Returns how many
 * run-time opt-ins there are, or -errno. */
int optin_restore(struct optin *o);

struct optin_info {
	const char *name; /* the unit name or the path opted in */
	bool unit;
	enum optin_origin origin;
	const char *cgroup; /* its cgroup now, NULL while there is none */
	uint64_t id;	    /* that cgroup's id, 0 while there is none */
	bool pinned;	    /* its links outlive the agent */
};
typedef void optin_cb(const struct optin_info *info, void *arg);
void optin_walk(struct optin *o, optin_cb *fn, void *arg);

const char *optin_origin_name(enum optin_origin origin);

#endif
