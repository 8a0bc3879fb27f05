/* attach.c — `socks46 attach` and `socks46 detach`: opt a cgroup or a systemd unit in or out. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bpfload.h"
#include "agent/control.h"
#include "agent/optinfile.h"
#include "cgpath.h"
#include "cmd.h"
#include "conf.h"

struct attach_args {
	const char *cmd;
	const char *control;
	const char *pin_dir;
	const char *optin_state;
	bool unit;
	char name[PATH_MAX]; /* the cgroup path, resolved, or the unit name */
};

static void attach_usage(FILE *f, const char *cmd)
{
	bool detach = !strcmp(cmd, "detach");

	fprintf(
	    f,
	    "usage: socks46 %s [--control PATH]%s CGROUP\n"
	    "       socks46 %s [--control PATH]%s --unit NAME.service\n"
	    "\n"
	    "%s a running agent. CGROUP is a cgroup2 directory, or a path relative\n"
	    "to the cgroup2 mount (system.slice/foo.service; / for the whole system).\n"
	    "A unit is found by name in the slice tree and followed when systemd makes its\n"
	    "cgroup again (restart, stop and start). Opt-ins made here are kept across agent\n"
	    "restarts. %s\n"
	    "\n"
	    "  --unit NAME      a systemd unit (NAME.service, .scope or .slice) instead of a path\n"
	    "  --control PATH   the agent's control socket (default $%s or %s)\n",
	    cmd, detach ? " [--pin-dir DIR] [--optin-state FILE]" : "", cmd,
	    detach ? " [--optin-state FILE]" : "",
	    detach ? "Opts the cgroup out of" : "Opts the cgroup (and its descendants) into",
	    detach ? "Detaching what is not attached succeeds."
		   : "Attaching what is attached succeeds.",
	    CONTROL_ENV, CONTROL_PATH_DEFAULT);
	if (detach)
		fprintf(
		    f,
		    "  --pin-dir DIR    where links outliving their agent are pinned (default "
		    "%s);\n"
		    "                   with no agent running, detach removes them there\n"
		    "  --optin-state FILE  the agent's list of run-time opt-ins (default %s);\n"
		    "                   with no agent running, detach removes the entry there\n",
		    BPFLOAD_PIN_DIR_DEFAULT, OPTINFILE_PATH);
}

/* The argument: a unit name, or a cgroup path resolved against the cgroup2 mount. */
static int attach_name(struct attach_args *a, const char *arg)
{
	int rc;

	/* A cgroup removed since it was attached can still be detached. */
	if (a->unit)
		rc = cgpath_unit_name(arg, a->name, sizeof(a->name));
	else if (!strcmp(a->cmd, "detach"))
		rc = cgpath_resolve_leaf(arg, a->name, sizeof(a->name));
	else
		rc = cgpath_resolve(arg, a->name, sizeof(a->name));

	if (!rc)
		return 0;
	if (a->unit)
		fprintf(stderr,
			"socks46 %s: %s: not a unit name (NAME.service, .scope or .slice)\n",
			a->cmd, arg);
	else {
		char msg[PATH_MAX + 256];

		cgpath_strerror(arg, rc, msg, sizeof(msg));
		fprintf(stderr, "socks46 %s: %s\n", a->cmd, msg);
	}
	return a->unit ? 2 : 1;
}

/* 0 to go on, else the exit status to return. */
static int attach_parse(const char *cmd, int argc, char **argv, struct attach_args *a)
{
	static const struct option opts[] = {
	    {"control", required_argument, NULL, 'C'},
	    {"pin-dir", required_argument, NULL, 'P'},
	    {"optin-state", required_argument, NULL, 'O'},
	    {"unit", no_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->pin_dir = BPFLOAD_PIN_DIR_DEFAULT;
	a->optin_state = OPTINFILE_PATH;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			a->control = optarg;
			break;
		case 'P':
			a->pin_dir = optarg;
			break;
		case 'O':
			a->optin_state = optarg;
			break;
		case 'u':
			a->unit = true;
			break;
		case 'h':
			attach_usage(stdout, cmd);
			exit(0);
		default:
			return conf_getopt_fail(cmd, opt, argv);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "socks46 %s: expected one %s argument (see --help)\n", cmd,
			a->unit ? "unit" : "CGROUP");
		return 2;
	}
	return attach_name(a, argv[optind]);
}

/* Sends the request; prints the agent's line (stdout when it succeeded). Returns 0, 1, or
 * -errno if no agent answers. */
static int attach_request(const struct attach_args *a)
{
	char line[PATH_MAX + 32], *reply = NULL;
	int rc;

	snprintf(line, sizeof(line), "%s%s %s", a->cmd, a->unit ? "-unit" : "", a->name);
	rc = control_request(control_path(a->control), line, &reply);
	if (rc)
		return rc;
	reply[strcspn(reply, "\n")] = '\0';
	if (!strncmp(reply, "ok", 2)) {
		if (reply[2] == ' ')
			printf("%s\n", reply + 3);
		free(reply);
		return 0;
	}
	fprintf(stderr, "socks46 %s: %s\n", a->cmd,
		!strncmp(reply, "error ", 6) ? reply + 6 : reply);
	free(reply);
	return 1;
}

static void attach_no_agent(const struct attach_args *a, int err)
{
	char msg[512];

	control_strerror(control_path(a->control), err, msg, sizeof(msg));
	fprintf(stderr, "socks46 %s: %s\n", a->cmd, msg);
}

int attach_main(int argc, char **argv)
{
	struct attach_args a;
	int rc = attach_parse("attach", argc, argv, &a);

	if (rc)
		return rc;
	rc = attach_request(&a);
	if (rc < 0) {
		attach_no_agent(&a, rc);
		return 1;
	}
	return rc;
}

/* With no agent: the links it pinned still redirect (into a closed port) and its opt-in
 * file would attach the cgroup again at its next start; remove both. */
static int detach_offline(const struct attach_args *a)
{
	char root[PATH_MAX], path[PATH_MAX];
	const char *cg = a->unit ? NULL : a->name;
	int unpinned = 0, dropped;
	uint64_t id;

	if (a->unit && !cgpath_root(root, sizeof(root)) &&
	    cgpath_unit_find(root, a->name, path, sizeof(path)))
		cg = path;
	if (cg && !bpfload_cgroup_id(cg, &id))
		unpinned = bpfload_unpin(a->pin_dir, id);
	dropped =
	    optinfile_drop(a->optin_state, a->unit ? OPTINFILE_UNIT : OPTINFILE_CGROUP, a->name);
	/* The same cgroup may be listed by path too (a command's, or taken over from pins). */
	if (cg && dropped >= 0) {
		int run = optinfile_drop(a->optin_state, OPTINFILE_RUN, cg);
		int path = a->unit ? optinfile_drop(a->optin_state, OPTINFILE_CGROUP, cg) : 0;

		dropped = run < 0 ? run : path < 0 ? path : dropped + run + path;
	}
	if (unpinned < 0 || dropped < 0) {
		fprintf(stderr, "socks46 detach: %s: %s\n",
			unpinned < 0 ? a->pin_dir : a->optin_state,
			strerror(unpinned < 0 ? -unpinned : -dropped));
		return 1;
	}
	if (unpinned || dropped)
		printf("%s: detached (no agent running)\n", a->name);
	else
		printf("%s: not attached (no agent running)\n", a->name);
	return 0;
}

int detach_main(int argc, char **argv)
{
	struct attach_args a;
	int rc = attach_parse("detach", argc, argv, &a);

	if (rc)
		return rc;
	rc = attach_request(&a);
	if (rc >= 0)
		return rc;
	if (rc != -ENOENT && rc != -ECONNREFUSED) {
		attach_no_agent(&a, rc);
		return 1;
	}
	return detach_offline(&a);
}
