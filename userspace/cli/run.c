/* run.c — `socks46 run -- CMD`: one command in a fresh cgroup under redirection. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/control.h"
#include "cgpath.h"
#include "cmd.h"
#include "conf.h"

#define RUN_MAX_AGENT_ARGS 64
#define RUN_AGENT_WAIT_MS 5000

struct run {
	const char *control;
	const char *agent_args[RUN_MAX_AGENT_ARGS];
	unsigned nagent_args;
	char cgroup[PATH_MAX];
	char own_control[PATH_MAX];
	pid_t agent; /* the agent started for this command, 0 if one was running */
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: socks46 run [--gateway HOST:PORT]... [--control PATH] [--agent-opt OPT]... "
		"-- CMD [ARG]...\n"
		"\n"
		"Runs CMD in a fresh cgroup whose connections and DNS go through the agent.\n"
		"Uses the running agent; with --gateway and no agent running, starts one for\n"
		"CMD alone. Exits with CMD's status.\n"
		"\n"
		"  --gateway HOST:PORT  gateway for an agent started for CMD; repeatable\n"
		"  --control PATH       the running agent's control socket (default $%s or %s)\n"
		"  --agent-opt OPT      extra option for an agent started for CMD (e.g.\n"
		"                       --agent-opt=--dns-upstream=198.51.100.1); repeatable\n",
		CONTROL_ENV, CONTROL_PATH_DEFAULT);
}

static void run_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Removes empty run-PID cgroups whose `socks46 run` died without cleaning up (SIGKILL). */
static void run_sweep(const char *parent)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(parent);
	long pid;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "run-%ld", &pid) != 1 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", parent, de->d_name) < (int)sizeof(p))
			rmdir(p);
	}
	closedir(d);
}

static int run_make_cgroup(struct run *r)
{
	char root[PATH_MAX];
	int rc = cgpath_root(root, sizeof(root));

	if (rc)
		return rc;
	/* A leaf of its own: attaching never touches a cgroup holding other processes. */
	if (snprintf(r->cgroup, sizeof(r->cgroup), "%s/socks46", root) >= (int)sizeof(r->cgroup))
		return -ENAMETOOLONG;
	if (mkdir(r->cgroup, 0755) < 0 && errno != EEXIST)
		return -errno;
	run_sweep(r->cgroup);
	snprintf(r->cgroup + strlen(r->cgroup), sizeof(r->cgroup) - strlen(r->cgroup), "/run-%d",
		 (int)getpid());
	if (mkdir(r->cgroup, 0755) < 0)
		return -errno;
	return 0;
}

static void run_remove_cgroup(struct run *r)
{
	/* The last processes of CMD may take a moment to leave. */
	for (int i = 0; i < 50; i++) {
		if (!rmdir(r->cgroup) || errno == ENOENT)
			return;
		run_sleep_ms(20);
	}
	fprintf(stderr, "socks46 run: cannot remove %s: %s\n", r->cgroup, strerror(errno));
}

/* Starts an agent for this command alone: own control socket, own ports, nothing pinned. */
static int run_start_agent(struct run *r)
{
	const char *argv[RUN_MAX_AGENT_ARGS + 20];
	unsigned n = 0;
	char *reply;

	snprintf(r->own_control, sizeof(r->own_control), "/run/socks46/run-%d.sock", (int)getpid());
	argv[n++] = "socks46";
	argv[n++] = "agent";
	/* The system agent's file (its gateways, cgroups, ...) is not this one's. */
	argv[n++] = "--config";
	argv[n++] = "none";
	/* Quiet unless something goes wrong: CMD's output is what the user reads. */
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	for (unsigned i = 0; i < r->nagent_args; i++)
		argv[n++] = r->agent_args[i];
	argv[n++] = "--control";
	argv[n++] = r->own_control;
	argv[n++] = "--cgroup";
	argv[n++] = r->cgroup;
	argv[n++] = "--no-pin";
	argv[n++] = "--fake-state";
	argv[n++] = "none";
	/* Opt-ins of the system's agent are not this one's business. */
	argv[n++] = "--optin-state";
	argv[n++] = "none";
	argv[n++] = "--proxy-port";
	argv[n++] = "0";
	argv[n++] = "--dns-port";
	argv[n++] = "0";
	argv[n] = NULL;
	r->agent = fork();
	if (r->agent < 0)
		return -errno;
	if (r->agent == 0) {
		execv("/proc/self/exe", (char **)argv);
		fprintf(stderr, "socks46 run: exec agent: %s\n", strerror(errno));
		_exit(127);
	}
	for (int waited = 0; waited < RUN_AGENT_WAIT_MS; waited += 20) {
		int st;

		if (!control_request(r->own_control, "status", &reply)) {
			free(reply);
			return 0;
		}
		if (waitpid(r->agent, &st, WNOHANG) == r->agent) {
			r->agent = 0;
			return -ECHILD;
		}
		run_sleep_ms(20);
	}
	return -ETIMEDOUT;
}

static void run_stop_agent(struct run *r)
{
	int st;

	if (r->agent <= 0)
		return;
	kill(r->agent, SIGTERM);
	waitpid(r->agent, &st, 0);
	r->agent = 0;
}

static int run_control(const char *path, const char *cmd, const char *cg)
{
	char line[PATH_MAX + 16], *reply = NULL;
	int rc;

	snprintf(line, sizeof(line), "%s %s", cmd, cg);
	rc = control_request(path, line, &reply);
	if (rc)
		return rc;
	if (strncmp(reply, "ok", 2)) {
		reply[strcspn(reply, "\n")] = '\0';
		fprintf(stderr, "socks46 run: %s: %s\n", cmd, reply);
		rc = -EPROTO;
	}
	free(reply);
	return rc;
}

/* 0 to go on (optind at CMD), else an exit status. */
static int run_parse(struct run *r, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"gateway", required_argument, NULL, 'g'},
	    {"control", required_argument, NULL, 'C'},
	    {"agent-opt", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool have_gw = false;
	int opt;

	opterr = 0;
	optind = 1;
	/* '+': stop at CMD so that its own options are left alone. */
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (r->nagent_args + 2 > RUN_MAX_AGENT_ARGS) {
			fprintf(stderr, "socks46 run: too many options\n");
			return 2;
		}
		switch (opt) {
		case 'g':
			r->agent_args[r->nagent_args++] = "--gateway";
			r->agent_args[r->nagent_args++] = optarg;
			have_gw = true;
			break;
		case 'C':
			r->control = optarg;
			break;
		case 'o':
			r->agent_args[r->nagent_args++] = optarg;
			break;
		case 'h':
			run_usage(stdout);
			exit(0);
		default:
			return conf_getopt_fail("run", opt, argv);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "socks46 run: no command given (socks46 run -- CMD [ARG]...)\n");
		return 2;
	}
	if (!have_gw)
		r->nagent_args = 0;
	return 0;
}

/* The command being run, for the signal handler (nothing else reads it). */
static volatile pid_t run_cmd_pid;

/* SIGINT/SIGTERM sent to `socks46 run` go to the command; cleanup follows its exit. */
static void run_forward_signal(int sig)
{
	if (run_cmd_pid > 0)
		kill(run_cmd_pid, sig);
}

/* Runs CMD inside the cgroup; returns its wait status, or -errno. */
static int run_child(struct run *r, char **cmd)
{
	char procs[PATH_MAX + 16];
	int st, fd;
	pid_t pid;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", r->cgroup);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Join before exec: a socket's cgroup is fixed when it is created. */
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0\n", 2) != 2) {
			fprintf(stderr, "socks46 run: joining %s: %s\n", r->cgroup,
				strerror(errno));
			_exit(126);
		}
		close(fd);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(cmd[0], cmd);
		fprintf(stderr, "socks46 run: %s: %s\n", cmd[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	run_cmd_pid = pid;
	signal(SIGINT, run_forward_signal);
	signal(SIGTERM, run_forward_signal);
	signal(SIGHUP, run_forward_signal);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return st;
}

int run_main(int argc, char **argv)
{
	struct run r = {0};
	const char *path;
	bool attached = false;
	int rc, st, status = 1;

	rc = run_parse(&r, argc, argv);
	if (rc)
		return rc;
	path = control_path(r.control);
	rc = run_make_cgroup(&r);
	if (rc) {
		fprintf(stderr, "socks46 run: creating a cgroup: %s\n", strerror(-rc));
		return 1;
	}
	rc = run_control(path, "attach-transient", r.cgroup);
	if (!rc) {
		attached = true;
	} else if (rc == -EPROTO) {
		goto out;
	} else if (!r.nagent_args) {
		char msg[512];

		control_strerror(path, rc, msg, sizeof(msg));
		fprintf(stderr, "socks46 run: %s; give --gateway to start one\n", msg);
		goto out;
	} else if ((rc = run_start_agent(&r))) {
		fprintf(stderr, "socks46 run: starting an agent failed: %s\n",
			rc == -ECHILD ? "it exited (see its message above)" : strerror(-rc));
		goto out;
	}
	st = run_child(&r, argv + optind);
	if (st < 0)
		fprintf(stderr, "socks46 run: %s\n", strerror(-st));
	else
		status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
out:
	if (attached)
		run_control(path, "detach", r.cgroup);
	run_stop_agent(&r);
	run_remove_cgroup(&r);
	return status;
}
