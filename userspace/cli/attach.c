/* attach.c — `socks46 attach PATH` and `socks46 detach PATH`: opt a cgroup in or out. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bpfload.h"
#include "agent/control.h"
#include "cgpath.h"
#include "cmd.h"

struct attach_args {
	const char *control;
	const char *pin_dir;
	char path[PATH_MAX];
};

static void attach_usage(FILE *f, const char *cmd)
{
	fprintf(f,
		"usage: socks46 %s [--control PATH]%s CGROUP\n"
		"\n"
		"%s a running agent. CGROUP is a cgroup2 directory, or a path relative\n"
		"to the cgroup2 mount (system.slice/foo.service; / for the whole system).\n"
		"\n"
		"  --control PATH   the agent's control socket (default $%s or %s)\n",
		cmd, strcmp(cmd, "detach") ? "" : " [--pin-dir DIR]",
		strcmp(cmd, "detach") ? "Opts the cgroup (and its descendants) into"
				      : "Opts the cgroup out of",
		CONTROL_ENV, CONTROL_PATH_DEFAULT);
	if (!strcmp(cmd, "detach"))
		fprintf(f,
			"  --pin-dir DIR    where links outliving their agent are pinned (default "
			"%s);\n                   with no agent running, detach removes them "
			"there\n",
			BPFLOAD_PIN_DIR_DEFAULT);
}

/* 0 to go on, else the exit status to return. */
static int attach_parse(const char *cmd, int argc, char **argv, struct attach_args *a)
{
	static const struct option opts[] = {
	    {"control", required_argument, NULL, 'C'},
	    {"pin-dir", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt, rc;

	a->control = NULL;
	a->pin_dir = BPFLOAD_PIN_DIR_DEFAULT;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			a->control = optarg;
			break;
		case 'P':
			a->pin_dir = optarg;
			break;
		case 'h':
			attach_usage(stdout, cmd);
			exit(0);
		default:
			fprintf(stderr, "socks46 %s: see socks46 %s --help\n", cmd, cmd);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "socks46 %s: expected one CGROUP argument (see --help)\n", cmd);
		return 2;
	}
	rc = cgpath_resolve(argv[optind], a->path, sizeof(a->path));
	if (rc) {
		fprintf(stderr, "socks46 %s: %s: %s\n", cmd, argv[optind], strerror(-rc));
		return 1;
	}
	return 0;
}

/* Sends "CMD PATH"; prints the agent's error line. Returns 0, 1, or -errno if no agent. */
static int attach_request(const char *cmd, const struct attach_args *a)
{
	char line[PATH_MAX + 16], *reply = NULL;
	const char *path = control_path(a->control);
	int rc;

	snprintf(line, sizeof(line), "%s %s", cmd, a->path);
	rc = control_request(path, line, &reply);
	if (rc)
		return rc;
	if (!strncmp(reply, "ok", 2)) {
		free(reply);
		return 0;
	}
	reply[strcspn(reply, "\n")] = '\0';
	fprintf(stderr, "socks46 %s: %s\n", cmd, !strncmp(reply, "error ", 6) ? reply + 6 : reply);
	free(reply);
	return 1;
}

int attach_main(int argc, char **argv)
{
	struct attach_args a;
	int rc = attach_parse("attach", argc, argv, &a);

	if (rc)
		return rc;
	rc = attach_request("attach", &a);
	if (rc < 0) {
		fprintf(stderr, "socks46 attach: no agent on %s: %s\n", control_path(a.control),
			strerror(-rc));
		return 1;
	}
	return rc;
}

int detach_main(int argc, char **argv)
{
	struct attach_args a;
	uint64_t id;
	int rc = attach_parse("detach", argc, argv, &a);

	if (rc)
		return rc;
	rc = attach_request("detach", &a);
	if (rc >= 0)
		return rc;
	/* No agent: links it pinned still redirect (into a closed port); remove them. */
	rc = bpfload_cgroup_id(a.path, &id);
	if (!rc)
		rc = bpfload_unpin(a.pin_dir, id);
	if (rc < 0) {
		fprintf(stderr, "socks46 detach: %s: %s\n", a.path, strerror(-rc));
		return 1;
	}
	if (rc == 0) {
		fprintf(stderr, "socks46 detach: no agent on %s and nothing pinned for %s\n",
			control_path(a.control), a.path);
		return 1;
	}
	return 0;
}
