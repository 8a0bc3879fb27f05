/* agentreload.c — SIGHUP: reread the agent's configuration and apply what can change live. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agentconf.h"
#include "agentsd.h"
#include "control.h"
#include "dnsd.h"
#include "handoff.h"
#include "log.h"
#include "netnswatch.h"
#include "optin.h"
#include "redirect.h"
#include "sdnotify.h"
#include "srvlist.h"

/* Everything a reload needs, prepared before anything running changes. */
struct agentreload {
	struct agentconf *conf;
	char *password;
	struct srvlist *gateways;
	struct agentconf_optin optins[2 * AGENTCONF_MAX_CGROUPS]; /* `cgroup` and `unit` */
	unsigned noptins;
};

static void agentreload_free(struct agentreload *r)
{
	if (r->conf) {
		agentconf_free(r->conf);
		free(r->conf);
	}
	conf_free_password(r->password);
	srvlist_free(r->gateways);
	agentconf_free_optins(r->optins, r->noptins);
}

/* The file, the command line over it, the password file, the cgroups and the gateway list. */
static int agentreload_prepare(struct agent *a, struct agentreload *r, char *err, size_t errlen)
{
	bool usage;
	int rc;

	r->conf = calloc(1, sizeof(*r->conf));
	if (!r->conf)
		return conf_err(err, errlen, "out of memory");
	rc = agentconf_build(r->conf, a->cmdline, &usage, err, errlen);
	if (rc < 0)
		return rc;
	/* The handoff starts only with the agent: without it, no gateway would be left. */
	if (!r->conf->rcfg.ngateways && !a->handoff)
		return conf_err(err, errlen, "--handoff without --gateway takes a restart");
	if (r->conf->password_file &&
	    (rc = conf_read_password(r->conf->password_file, &r->password)) < 0)
		return conf_err(err, errlen, "password-file %s: %s", r->conf->password_file,
				rc == -EINVAL ? "empty or longer than 255 bytes" : strerror(-rc));
	r->conf->rcfg.pass = r->password;
	rc = agentconf_resolve_optins(r->conf, r->optins, err, errlen);
	if (rc < 0)
		return rc;
	r->noptins = (unsigned)rc;
	rc = redirect_gateways_new(&r->gateways, &r->conf->rcfg);
	if (rc < 0)
		return conf_err(err, errlen, "gateway: %s", strerror(-rc));
	return 0;
}

static bool agentreload_has(const struct agentreload *r, const char *name, bool unit)
{
	for (unsigned i = 0; i < r->noptins; i++)
		if (r->optins[i].unit == unit && !strcmp(r->optins[i].name, name))
			return true;
	return false;
}

/* Opts in what the file names (what is there already stays as it is, whoever added it). */
static void agentreload_attach(struct agent *a, struct agentreload *r)
{
	char msg[PATH_MAX + 128];

	for (unsigned i = 0; i < r->noptins; i++) {
		if (optin_add(a->optin, r->optins[i].name, r->optins[i].unit, OPTIN_CONFIG, msg,
			      sizeof(msg)))
			log_error("reload: %s", msg);
		else if (!strstr(msg, "already attached"))
			log_info("reload: %s", msg);
	}
}

struct agentreload_gone {
	const struct agentreload *r;
	struct agentconf_optin gone[2 * AGENTCONF_MAX_CGROUPS];
	unsigned n;
};

static void agentreload_find_gone(const struct optin_info *info, void *arg)
{
	struct agentreload_gone *g = arg;

	if (info->origin != OPTIN_CONFIG || agentreload_has(g->r, info->name, info->unit))
		return;
	if (g->n < sizeof(g->gone) / sizeof(g->gone[0]) &&
	    (g->gone[g->n].name = strdup(info->name)))
		g->gone[g->n++].unit = info->unit;
}

/* Opts out what the configuration opted in and the file no longer names; opt-ins made with
 * `socks46 attach` or `socks46 run` are not the file's to remove. */
static void agentreload_detach(struct agent *a, const struct agentreload *r)
{
	struct agentreload_gone g = {.r = r};
	char msg[PATH_MAX + 128];

	optin_walk(a->optin, agentreload_find_gone, &g);
	for (unsigned i = 0; i < g.n; i++) {
		if (optin_remove(a->optin, g.gone[i].name, g.gone[i].unit, msg, sizeof(msg)))
			log_warnx("reload: %s", msg);
		else
			log_info("reload: %s", msg);
	}
	agentconf_free_optins(g.gone, g.n);
}

#define AGENTRELOAD_SAME(field) (!memcmp(&b->field, &n->field, sizeof(b->field)))

static bool agentreload_same_str(const char *x, const char *y)
{
	return x == y || (x && y && !strcmp(x, y));
}

/* Settings the running parts were built with: a new value waits for a restart. */
static void agentreload_restart_only(const struct agentconf *b, const struct agentconf *n)
{
	const char *changed[20];
	char list[320] = "";
	unsigned k = 0;

	if (!AGENTRELOAD_SAME(proxy_port))
		changed[k++] = "proxy-port";
	if (!AGENTRELOAD_SAME(dns_port))
		changed[k++] = "dns-port";
	if (!AGENTRELOAD_SAME(no_dns) || !AGENTRELOAD_SAME(dcfg.check_exists))
		changed[k++] = "no-dns, check-exists";
	/* Without dns-upstream the running one came from resolv.conf at start. */
	if (!AGENTRELOAD_SAME(upstream_set) ||
	    (n->upstream_set && !AGENTRELOAD_SAME(dcfg.upstream)))
		changed[k++] = "dns-upstream";
	if (!AGENTRELOAD_SAME(fcfg.pool4) || !AGENTRELOAD_SAME(fcfg.prefix4) ||
	    !AGENTRELOAD_SAME(fcfg.pool6) || !AGENTRELOAD_SAME(fcfg.prefix6) ||
	    !AGENTRELOAD_SAME(fcfg.ttl_s) ||
	    !agentreload_same_str(b->fcfg.state_path, n->fcfg.state_path))
		changed[k++] = "fake-*";
	if (!agentreload_same_str(b->control, n->control))
		changed[k++] = "control";
	if (!agentreload_same_str(b->optin_state, n->optin_state))
		changed[k++] = "optin-state";
	if (!agentreload_same_str(b->pin_dir, n->pin_dir))
		changed[k++] = "pin-dir, no-pin";
	if (!agentreload_same_str(b->netns_policy, n->netns_policy))
		changed[k++] = "netns-policy";
	if (!AGENTRELOAD_SAME(mark))
		changed[k++] = "mark";
	if (!AGENTRELOAD_SAME(fast_path))
		changed[k++] = "fast-path";
	if (!agentreload_same_str(b->handoff, n->handoff))
		changed[k++] = "handoff";
	if (!AGENTRELOAD_SAME(nexempt) ||
	    memcmp(b->exempt_uids, n->exempt_uids, b->nexempt * sizeof(b->exempt_uids[0])))
		changed[k++] = "exempt-user";
	if (!AGENTRELOAD_SAME(npolicy) ||
	    memcmp(b->policy, n->policy, b->npolicy * sizeof(b->policy[0])))
		changed[k++] = "via-gateway";
	if (!AGENTRELOAD_SAME(rcfg.target.nnat64) ||
	    memcmp(b->rcfg.target.nat64, n->rcfg.target.nat64,
		   b->rcfg.target.nnat64 * sizeof(b->rcfg.target.nat64[0])))
		changed[k++] = "nat64-prefix";
	if (!agentreload_same_str(b->rcfg.target.literal_suffix, n->rcfg.target.literal_suffix))
		changed[k++] = "literal-suffix";
	if (!AGENTRELOAD_SAME(rcfg.connect_ms))
		changed[k++] = "connect-timeout";
	for (unsigned i = 0; i < k; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 changed[i]);
	if (k)
		log_warnx("reload: %s change%s only on restart", list, k == 1 ? "s" : "");
}

/* Nothing fails from here on: the prepared settings replace the running ones. */
static void agentreload_commit(struct agent *a, struct agentreload *r)
{
	agentreload_detach(a, r);
	agentreload_attach(a, r);
	/* Connections under way finish on the gateways they started with. */
	srvlist_swap(a->gateways, r->gateways);
	r->gateways = NULL;
	if (a->handoff)
		handoff_set_fallback(a->handoff, r->conf->rcfg.ngateways > 0);
	if (a->dnsd)
		dnsd_set_no_fake(a->dnsd, r->conf->no_fake);
	if (a->netns)
		netnswatch_set_no_fake(a->netns, r->conf->no_fake);
	conf_free_password(a->password);
	a->password = r->password;
	r->password = NULL;
	log_set_level((enum log_level)r->conf->log_level);
	agentreload_restart_only(a->boot, r->conf);
	if (a->conf != a->boot) {
		agentconf_free(a->conf);
		free(a->conf);
	}
	a->conf = r->conf;
	r->conf = NULL;
}

void agentreload_run(struct agent *a)
{
	struct agentreload r = {0};
	char err[CONF_ERRLEN];

	/* A reload starts here ... */
	sdnotify_reloading();
	log_info("reload: rereading %s",
		 a->cmdline->config ? a->cmdline->config : "the command line (no file)");
	if (agentreload_prepare(a, &r, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the previous configuration", err);
		agentreload_free(&r);
		agentsd_ready(a);
		return;
	}
	agentreload_commit(a, &r);
	agentreload_free(&r);
	log_info("reloaded configuration: %u gateway(s), %u opt-in(s), %zu name suffix(es) "
		 "never faked",
		 a->conf->rcfg.ngateways, a->conf->ncgroups + a->conf->nunits, a->conf->nno_fake);
	agent_probe_gateways(a);
	/* ... and ends here, with the new configuration in force. */
	agentsd_ready(a);
}
