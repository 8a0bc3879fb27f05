/* netns.c — `socks46 netns add`: serve a process's network namespace now (an OCI hook). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control.h"
#include "cmd.h"
#include "conf.h"
#include "json.h"

#define NETNS_STATE_MAX (1 << 20)

static void netns_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: socks46 netns add [--control PATH] [--optional] --pid PID\n"
	    "       socks46 netns add [--control PATH] [--optional] --oci-state\n"
	    "\n"
	    "Has the running agent serve the network namespace of PID now, and returns once\n"
	    "it does (or fails when PID is not in an attached cgroup, or the agent's\n"
	    "--netns-policy leaves the namespace out). The agent finds such namespaces by\n"
	    "itself too, within a second; a container runtime's createRuntime or prestart\n"
	    "hook makes sure the container's first query is served.\n"
	    "\n"
	    "  --pid PID        a process in the namespace\n"
	    "  --oci-state      read the PID from the OCI state JSON on standard input (hooks)\n"
	    "  --optional       succeed when there is nothing to serve (PID in no attached\n"
	    "                   cgroup, left out by the policy) or no agent runs: a hook run\n"
	    "                   for every container then holds up none\n"
	    "  --control PATH   the agent's control socket (default $%s or %s)\n",
	    CONTROL_ENV, CONTROL_PATH_DEFAULT);
}

/* The "pid" of the OCI state on stdin; 0 or the exit status. */
static int netns_oci_pid(long *pid)
{
	char *buf = malloc(NETNS_STATE_MAX + 1);
	struct json *j = NULL;
	size_t n;
	int rc = 1;

	if (!buf)
		return 1;
	n = fread(buf, 1, NETNS_STATE_MAX, stdin);
	buf[n] = '\0';
	if (json_parse(buf, &j) || !json_get(j, "pid") || !(*pid = (long)json_get_uint(j, "pid")))
		fprintf(stderr, "socks46 netns: no \"pid\" in the OCI state on standard input\n");
	else
		rc = 0;
	json_free(j);
	free(buf);
	return rc;
}

/* 0 to go on, else the exit status. */
static int netns_parse(int argc, char **argv, const char **control, long *pid, bool *optional)
{
	static const struct option opts[] = {
	    {"control", required_argument, NULL, 'C'}, {"pid", required_argument, NULL, 'p'},
	    {"oci-state", no_argument, NULL, 'o'},     {"optional", no_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	bool oci = false;
	char *end;
	int opt;

	opterr = 0;
	optind = 2;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			*control = optarg;
			break;
		case 'p':
			errno = 0;
			*pid = strtol(optarg, &end, 10);
			if (errno || *end || *pid <= 0 || *pid > 0x7fffffff) {
				fprintf(stderr, "socks46 netns: --pid: '%s' is not a process id\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			oci = true;
			break;
		case 'O':
			*optional = true;
			break;
		case 'h':
			netns_usage(stdout);
			exit(0);
		default:
			return conf_getopt_fail("netns", opt, argv);
		}
	}
	if (optind != argc || (*pid > 0) == oci) {
		fprintf(stderr, "socks46 netns: add takes --pid PID or --oci-state (see --help)\n");
		return 2;
	}
	return oci ? netns_oci_pid(pid) : 0;
}

int netns_main(int argc, char **argv)
{
	const char *control = NULL;
	char line[64], msg[512], *reply = NULL, *text;
	bool optional = false;
	long pid = 0;
	int rc;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		netns_usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "add")) {
		fprintf(stderr, "socks46 netns: expected the subcommand add (see --help)\n");
		return 2;
	}
	rc = netns_parse(argc, argv, &control, &pid, &optional);
	if (rc)
		return rc;
	snprintf(line, sizeof(line), "netns-add %ld", pid);
	rc = control_request(control_path(control), line, &reply);
	if (rc) {
		control_strerror(control_path(control), rc, msg, sizeof(msg));
		fprintf(stderr, "socks46 netns: %s\n", msg);
		return optional ? 0 : 1;
	}
	reply[strcspn(reply, "\n")] = '\0';
	text = strchr(reply, ' ') ? strchr(reply, ' ') + 1 : reply;
	rc = !(!strncmp(reply, "ok ", 3) || (optional && !strncmp(reply, "none ", 5)));
	fprintf(rc ? stderr : stdout, "%s%s\n", rc ? "socks46 netns: " : "", text);
	free(reply);
	return rc;
}
