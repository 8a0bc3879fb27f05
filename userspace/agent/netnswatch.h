/* netnswatch.h — which network namespaces the agent serves: discovery, policy, clean-up. */
#ifndef S46_NETNSWATCH_H
#define S46_NETNSWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How often the attached cgroups are scanned for processes in other namespaces (and served
 * namespaces checked for processes left). */
#define NETNSWATCH_RESCAN_MS 1000
/* Processes and cgroups remembered per namespace, for status. */
#define NETNSWATCH_PIDS_MAX 16
#define NETNSWATCH_CGROUPS_MAX 4

struct agent;
struct netnswatch;
struct netns;

/* policy: "all" (NULL too), "own", or a comma-separated list of namespaces by name
 * (/run/netns/NAME) or path (a bind mount of a namespace, /proc/PID/ns/net). */
int netnswatch_policy_check(const char *policy, char *err, size_t errlen);

/* Starts the periodic scan (none with the policy "own"). Returns 0 or -errno. */
int netnswatch_new(struct netnswatch **out, struct agent *a, const char *policy);
/* Stops serving every namespace but the agent's own. NULL is fine. */
void netnswatch_free(struct netnswatch *w);

/* Scans now: serves the namespaces of processes in the attached cgroups that the policy
 * allows, stops serving those left without any. */
void netnswatch_scan(struct netnswatch *w);
/* `socks46 netns add --pid PID`: scans, then says in msg whether PID's namespace is served.
 * Returns 0 when it is (or is the agent's own), 1 when there is nothing to serve (PID is in
 * no attached cgroup, or the policy leaves its namespace out), -errno when serving failed. */
int netnswatch_add_pid(struct netnswatch *w, int pid, char *msg, size_t len);

/* A served namespace other than the agent's own by its cookie, or NULL. */
struct netns *netnswatch_by_cookie(struct netnswatch *w, uint64_t cookie);
/* The status JSON array "namespaces" (its elements), the agent's own first. */
void netnswatch_status(struct netnswatch *w, FILE *f);
/* A reload's suffixes never faked, for every namespace's responder. */
void netnswatch_set_no_fake(struct netnswatch *w, const char *const *no_fake);

#endif
