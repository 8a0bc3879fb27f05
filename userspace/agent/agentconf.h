/* agentconf.h — the agent's settings: defaults and the key table of its options and file. */
#ifndef S46_AGENTCONF_H
#define S46_AGENTCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "dnsd.h"
#include "fakeip.h"
#include "prefix.h"
#include "redirect.h"
#include "s46_bpf.h"

#define AGENTCONF_PATH_DEFAULT "/etc/socks46/agent.conf"
#define AGENTCONF_MAX_CGROUPS 64
#define AGENTCONF_MAX_POLICY 64
#define AGENTCONF_HEALTH_MS_DEFAULT 10000
/* The user exempted when no exempt-user is given, if it exists: the gateway's. */
#define AGENTCONF_EXEMPT_DEFAULT "_socks46"

/* One complete set of settings; a reload builds a new one beside the running one. */
struct agentconf {
	struct redirect_config rcfg; /* gateways, user, connect_ms, reply_ms */
	struct dnsd_config dcfg;     /* upstream, check_exists */
	struct fakeip_config fcfg;   /* pools, TTL, state file */
	const char
	    *cgroups[AGENTCONF_MAX_CGROUPS]; /* as given: a path or below the cgroup2 mount */
	unsigned ncgroups;
	const char *units[AGENTCONF_MAX_CGROUPS]; /* systemd units, as given */
	unsigned nunits;
	const char *optin_state;		    /* the run-time opt-in file; NULL: not kept */
	struct prefix policy[AGENTCONF_MAX_POLICY]; /* --via-gateway */
	unsigned npolicy;
	const char **no_fake; /* NULL-terminated; includes the gateways' names */
	size_t nno_fake;
	const char *control;
	const char *pin_dir;	  /* NULL: --no-pin */
	const char *netns_policy; /* NULL: all (netnswatch.h) */
	const char *password_file;
	const char *handoff; /* --handoff: the gateway's Unix socket on this host, NULL: none */
	int log_level;	     /* enum log_level */
	bool no_dns, upstream_set;
	bool fast_path; /* --fast-path: the kernel moves relayed bytes (sockmap) */
	uint16_t proxy_port, dns_port;
	uint32_t mark;
	uint32_t exempt_uids[S46_EXEMPT_MAX]; /* --exempt-user, by uid */
	unsigned nexempt;
	bool exempt_set; /* an exempt-user was given (none too): no default */
	char **owned;	 /* every string above that this struct allocated */
	size_t nowned;
};

/* The agent's keys: each is a long option and a configuration file key. */
extern const struct conf_key agentconf_keys[];

void agentconf_defaults(struct agentconf *c);
void agentconf_free(struct agentconf *c);

/*
 * Defaults, then the file cl->config, then the command line, then the checks of what goes
 * together (a gateway or --handoff is required, --user needs --password-file). Returns 0, or
 * -errno with one line in err; *usage tells whether the command line (not the file) is at
 * fault.
 */
int agentconf_build(struct agentconf *c, const struct conf_cmdline *cl, bool *usage, char *err,
		    size_t errlen);

/* One opt-in of the configuration (`cgroup` or `unit`), named as optin_add keeps it. */
struct agentconf_optin {
	char *name;
	bool unit;
};

/*
 * Checks and normalizes the `cgroup` paths (absolute, or below the cgroup2 mount; they may not
 * exist yet) and `unit` names of c into out (room for 2 * AGENTCONF_MAX_CGROUPS). Returns how
 * many, or -errno with one line in err (saying what to do when no cgroup2 mount is visible).
 */
int agentconf_resolve_optins(const struct agentconf *c, struct agentconf_optin *out, char *err,
			     size_t errlen);
void agentconf_free_optins(struct agentconf_optin *v, unsigned n);

#endif
