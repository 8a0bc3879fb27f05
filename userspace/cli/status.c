/* status.c — `socks46 status [--json]`: the agent's table, connections and counters, owners from
 * sock_diag. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "agent/control.h"
#include "cmd.h"
#include "conf.h"
#include "json.h"
#include "sockdiag.h"

struct status_args {
	const char *control;
	bool json;
};

/* The program's end of each live connection, found in the kernel's socket table. */
struct status_conn {
	struct json *obj;
	struct sockaddr_storage client;
	bool has_client;
	uint32_t inode;
	struct sockdiag_owner owner;
};

struct status_match {
	struct status_conn *conns;
	size_t n;
	unsigned short proxy_port;
};

static void status_usage(FILE *f)
{
	fprintf(f,
		"usage: socks46 status [--json] [--control PATH]\n"
		"\n"
		"Shows a running agent's fake-IP table, live connections (with the pid and\n"
		"name of the program behind each one, from the kernel's socket diagnostics)\n"
		"and counters. Sockets are looked up in the agent's network namespace when\n"
		"status may enter it (root), else in the caller's.\n"
		"\n"
		"  --json           one JSON object: the agent's status, each connection with\n"
		"                   \"inode\", \"owner_pid\" and \"comm\" added where found\n"
		"  --control PATH   the agent's control socket (default $%s or %s)\n",
		CONTROL_ENV, CONTROL_PATH_DEFAULT);
}

/* 0 to go on, else the exit status to return. */
static int status_parse(int argc, char **argv, struct status_args *a)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"control", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	a->control = NULL;
	a->json = false;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			a->json = true;
			break;
		case 'C':
			a->control = optarg;
			break;
		case 'h':
			status_usage(stdout);
			exit(0);
		default:
			return conf_getopt_fail("status", opt, argv);
		}
	}
	if (optind != argc) {
		fprintf(stderr,
			"socks46 status: unexpected argument '%s' (try socks46 status --help)\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

/* A program socket is ours when its local end is the client the agent accepted and its
 * remote port the agent's proxy port (v4-mapped and plain IPv4 compare equal). */
static int status_match_cb(const struct sockdiag_sock *s, void *arg)
{
	struct status_match *m = arg;
	struct sockaddr_storage src = s->src;

	if (addr_port((const struct sockaddr *)&s->dst) != m->proxy_port || !s->inode)
		return 0;
	addr_unmap(&src);
	for (size_t i = 0; i < m->n; i++)
		if (m->conns[i].has_client &&
		    addr_equal((struct sockaddr *)&src, (struct sockaddr *)&m->conns[i].client))
			m->conns[i].inode = s->inode;
	return 0;
}

/* The programs' sockets live in the agent's network namespace: look there when status
 * runs elsewhere (needs CAP_SYS_ADMIN; without it the caller's namespace is used). */
static void status_enter_netns(pid_t agent)
{
	char path[64];
	struct stat mine, its;
	int fd;

	if (agent <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)agent);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!stat("/proc/self/ns/net", &mine) && !fstat(fd, &its) && mine.st_ino != its.st_ino)
		setns(fd, CLONE_NEWNET);
	close(fd);
}

static void status_find_owners(struct status_conn *conns, size_t n, unsigned short proxy_port)
{
	struct status_match m = {.conns = conns, .n = n, .proxy_port = proxy_port};
	struct sockdiag_owner *owners;
	size_t k = 0;
	int err;

	err = sockdiag_dump_tcp(AF_INET, SOCKDIAG_ALL_STATES, status_match_cb, &m);
	if (!err)
		err = sockdiag_dump_tcp(AF_INET6, SOCKDIAG_ALL_STATES, status_match_cb, &m);
	if (err) {
		fprintf(stderr, "socks46 status: socket diagnostics: %s\n", strerror(-err));
		return;
	}
	owners = calloc(n ? n : 1, sizeof(*owners));
	if (!owners)
		return;
	for (size_t i = 0; i < n; i++)
		if (conns[i].inode)
			owners[k++].inode = conns[i].inode;
	if (sockdiag_find_owners(owners, k) > 0)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < k; j++)
				if (conns[i].inode && owners[j].inode == conns[i].inode)
					conns[i].owner = owners[j];
	free(owners);
}

/* Collects the connection objects and enriches them in place. */
static int status_enrich(struct json *root, struct status_conn **out, size_t *nout)
{
	const struct json *arr = json_get(root, "connections");
	struct status_conn *conns;
	size_t n = 0, i = 0;
	socklen_t len;

	*out = NULL;
	*nout = 0;
	if (!arr || arr->type != JSON_ARRAY)
		return 0;
	for (const struct json *c = arr->child; c; c = c->next)
		n++;
	conns = calloc(n ? n : 1, sizeof(*conns));
	if (!conns)
		return -ENOMEM;
	for (struct json *c = arr->child; c; c = c->next, i++) {
		const char *client = json_get_str(c, "client", NULL);

		conns[i].obj = c;
		conns[i].has_client = client && !addr_parse(client, 0, &conns[i].client, &len);
		if (conns[i].has_client)
			addr_unmap(&conns[i].client);
	}
	status_enter_netns((pid_t)json_get_uint(root, "pid"));
	status_find_owners(conns, n, (unsigned short)json_get_uint(root, "proxy_port"));
	for (i = 0; i < n; i++) {
		if (!conns[i].inode)
			continue;
		if (json_add_uint(conns[i].obj, "inode", conns[i].inode))
			goto nomem;
		if (conns[i].owner.pid &&
		    (json_add_uint(conns[i].obj, "owner_pid", (unsigned)conns[i].owner.pid) ||
		     json_add_str(conns[i].obj, "comm", conns[i].owner.comm)))
			goto nomem;
	}
	*out = conns;
	*nout = n;
	return 0;
nomem:
	free(conns);
	return -ENOMEM;
}

static void status_print_table(const struct json *root)
{
	const struct json *arr = json_get(root, "fakeip");
	uint64_t now = (uint64_t)time(NULL);
	size_t n = 0;

	for (const struct json *e = arr ? arr->child : NULL; e; e = e->next)
		n++;
	printf("\nfake-IP table (%zu entries):\n", n);
	if (!n)
		return;
	printf("  %-40s %-28s %4s %s\n", "NAME", "ADDRESS", "REFS", "LAST USED");
	for (const struct json *e = arr->child; e; e = e->next) {
		unsigned long long last = json_get_uint(e, "last_used");

		printf("  %-40s %-28s %4llu ", json_get_str(e, "name", "?"),
		       json_get_str(e, "addr", "?"), json_get_uint(e, "refs"));
		if (last && last <= now)
			printf("%llus ago\n", (unsigned long long)(now - last));
		else
			printf("-\n");
	}
}

static void status_print_conns(const struct status_conn *conns, size_t n)
{
	printf("\nconnections (%zu):\n", n);
	if (!n)
		return;
	printf("  %-7s %-15s %-24s %-28s %-30s %-9s %10s %10s %8s\n", "PID", "PROGRAM", "CLIENT",
	       "ORIGINAL DESTINATION", "TARGET", "STATE", "UP", "DOWN", "AGE");
	for (size_t i = 0; i < n; i++) {
		const struct json *c = conns[i].obj;
		unsigned long long pid = conns[i].owner.pid ? (unsigned long long)conns[i].owner.pid
							    : json_get_uint(c, "pid");
		char pidbuf[24];

		snprintf(pidbuf, sizeof(pidbuf), pid ? "%llu" : "-", pid);
		printf("  %-7s %-15s %-24s %-28s %-30s %-9s %10llu %10llu %7.1fs\n", pidbuf,
		       conns[i].owner.comm[0] ? conns[i].owner.comm : "-",
		       json_get_str(c, "client", "?"), json_get_str(c, "orig", "?"),
		       json_get_str(c, "target", "?"), json_get_str(c, "state", "?"),
		       json_get_uint(c, "bytes_up"), json_get_uint(c, "bytes_down"),
		       (double)json_get_uint(c, "age_ms") / 1000.0);
	}
}

/* The UDP flows the agent carries through the gateway, one per program socket and destination. */
static void status_print_flows(const struct json *root)
{
	const struct json *arr = json_get(root, "udp_flows"), *u = json_get(root, "udp");
	size_t n = 0;

	for (const struct json *e = arr ? arr->child : NULL; e; e = e->next)
		n++;
	printf("\nudp flows (%zu):\n", n);
	if (n) {
		printf("  %-24s %-28s %-30s %-9s %10s %10s %8s %8s\n", "CLIENT",
		       "ORIGINAL DESTINATION", "TARGET", "STATE", "UP", "DOWN", "DROPPED", "AGE");
		for (const struct json *e = arr->child; e; e = e->next)
			printf("  %-24s %-28s %-30s %-9s %10llu %10llu %8llu %7.1fs\n",
			       json_get_str(e, "client", "?"), json_get_str(e, "orig", "?"),
			       json_get_str(e, "target", "?"), json_get_str(e, "state", "?"),
			       json_get_uint(e, "up"), json_get_uint(e, "down"),
			       json_get_uint(e, "dropped"),
			       (double)json_get_uint(e, "age_ms") / 1000.0);
	}
	if (u)
		printf("  datagrams up %llu, down %llu, dropped %llu (no destination %llu, no name "
		       "%llu); flows %llu, refused %llu, ended by their socket's close %llu\n",
		       json_get_uint(u, "up"), json_get_uint(u, "down"),
		       json_get_uint(u, "dropped"), json_get_uint(u, "no_origdst"),
		       json_get_uint(u, "no_name"), json_get_uint(u, "flows"),
		       json_get_uint(u, "refused"), json_get_uint(u, "closed"));
}

/* One opt-in: its cgroup and id, how it came (configuration, attach, run) and the unit. */
static void status_print_cgroup(const struct json *e)
{
	const char *unit = json_get_str(e, "unit", NULL), *path = json_get_str(e, "path", NULL);
	const char *origin = json_get_str(e, "origin", "?");
	const char *how = !strcmp(origin, "config")    ? "configuration"
			  : !strcmp(origin, "runtime") ? "attach"
			  : !strcmp(origin, "run")     ? "socks46 run"
						       : origin;

	if (json_get_bool(e, "attached"))
		printf("  %s (id %llu, %s%s%s%s)\n", path ? path : "?", json_get_uint(e, "id"), how,
		       unit ? ", unit " : "", unit ? unit : "",
		       json_get_bool(e, "pinned") ? ", pinned" : "");
	else if (unit)
		printf("  unit %s: not running, attached when it starts (%s)\n", unit, how);
	else
		printf("  %s: does not exist, attached when it is made (%s)\n", path ? path : "?",
		       how);
}

static void status_print_list(const struct json *root, const char *key, const char *title)
{
	const struct json *arr = json_get(root, key);

	if (!strcmp(key, "gateways") && json_get(root, "gateway_policy"))
		printf("%s (%s):", title, json_get_str(root, "gateway_policy", "?"));
	else
		printf("%s:", title);
	if (!arr || !arr->child) {
		printf(" none\n");
		return;
	}
	printf("\n");
	for (const struct json *e = arr->child; e; e = e->next) {
		if (!strcmp(key, "gateways"))
			printf("  %-40s %s, %llu failures, %llu in flight, %llu connections\n",
			       json_get_str(e, "addr", "?"), json_get_bool(e, "up") ? "up" : "down",
			       json_get_uint(e, "failures"), json_get_uint(e, "inflight"),
			       json_get_uint(e, "total"));
		else
			status_print_cgroup(e);
	}
}

/* One served network namespace: which, and the processes, cgroups and connections in it. */
static void status_print_ns(const struct json *e)
{
	const struct json *pids = json_get(e, "pids"), *cgs = json_get(e, "cgroups");

	printf("  inode %llu (cookie %llu%s): %llu process%s", json_get_uint(e, "inode"),
	       json_get_uint(e, "cookie"), json_get_bool(e, "own") ? ", the agent's own" : "",
	       json_get_uint(e, "processes"), json_get_uint(e, "processes") == 1 ? "" : "es");
	for (const struct json *p = pids ? pids->child : NULL; p; p = p->next)
		printf("%s%s", p == pids->child ? " (pid " : " ", p->text ? p->text : "?");
	printf("%s, %llu connection%s\n", pids && pids->child ? ")" : "",
	       json_get_uint(e, "connections"), json_get_uint(e, "connections") == 1 ? "" : "s");
	for (const struct json *c = cgs ? cgs->child : NULL; c; c = c->next)
		printf("    cgroup %s\n", c->text ? c->text : "?");
}

static void status_print_namespaces(const struct json *root)
{
	const struct json *arr = json_get(root, "namespaces");

	printf("network namespaces served:%s\n", arr && arr->child ? "" : " none");
	for (const struct json *e = arr ? arr->child : NULL; e; e = e->next)
		status_print_ns(e);
}

static void status_print_counters(const struct json *root)
{
	const struct json *c = json_get(root, "counters");
	int col = 0;

	printf("\ncounters:\n");
	for (const struct json *e = c ? c->child : NULL; e; e = e->next) {
		const char *v = e->type == JSON_NUMBER ? e->text : "?";

		/* Three to a line; the last of a line is not padded. */
		if (++col < 3 && e->next)
			printf("  %-16s %-10s", e->key, v);
		else
			printf("  %-16s %s\n", e->key, v);
		if (col == 3)
			col = 0;
	}
}

/* The users whose sockets are never redirected, with their names where this host has them. */
static void status_print_exempt(const struct json *root)
{
	const struct json *arr = json_get(root, "exempt_uids");

	printf("exempt users:");
	if (!arr || !arr->child)
		printf(" none");
	for (const struct json *e = arr ? arr->child : NULL; e; e = e->next) {
		struct passwd *pw = getpwuid((uid_t)strtoul(e->text ? e->text : "0", NULL, 10));

		printf(" uid %s%s%s%s%s", e->text ? e->text : "?", pw ? " (" : "",
		       pw ? pw->pw_name : "", pw ? ")" : "", e->next ? "," : "");
	}
	printf("\n");
}

/* The gateway on this host that takes the connections (--handoff), when there is one. */
static void status_print_handoff(const struct json *root)
{
	const struct json *h = json_get(root, "handoff");
	unsigned long long n;

	if (!h || h->type != JSON_OBJECT)
		return;
	n = json_get_uint(h, "channels");
	printf("handoff: %s, %s (%llu channel%s open)\n", json_get_str(h, "path", "?"),
	       json_get_bool(h, "up") ? "up" : "down", n, n == 1 ? "" : "s");
}

static void status_print(const struct json *root, const struct status_conn *conns, size_t n)
{
	printf("agent pid %llu, DNS port %llu, proxy port %llu\n", json_get_uint(root, "pid"),
	       json_get_uint(root, "dns_port"), json_get_uint(root, "proxy_port"));
	status_print_exempt(root);
	status_print_list(root, "gateways", "gateways");
	status_print_handoff(root);
	status_print_list(root, "cgroups", "cgroups");
	status_print_namespaces(root);
	status_print_table(root);
	status_print_conns(conns, n);
	status_print_flows(root);
	status_print_counters(root);
}

int status_main(int argc, char **argv)
{
	struct status_args a;
	struct status_conn *conns = NULL;
	struct json *root = NULL;
	const char *path;
	char *reply = NULL;
	size_t n = 0;
	int rc, err;

	rc = status_parse(argc, argv, &a);
	if (rc)
		return rc;
	path = control_path(a.control);
	err = control_request(path, "status", &reply);
	if (err) {
		char msg[512];

		control_strerror(path, err, msg, sizeof(msg));
		fprintf(stderr, "socks46 status: %s\n", msg);
		return 1;
	}
	if (!strncmp(reply, "error", 5)) {
		fprintf(stderr, "socks46 status: the agent answered: %s", reply + 5);
		rc = 1;
		goto out;
	}
	if (json_parse(reply, &root) || root->type != JSON_OBJECT) {
		fprintf(stderr, "socks46 status: the agent's reply is not a JSON object\n");
		rc = 1;
		goto out;
	}
	err = status_enrich(root, &conns, &n);
	if (err) {
		fprintf(stderr, "socks46 status: %s\n", strerror(-err));
		rc = 1;
		goto out;
	}
	if (a.json) {
		json_write(stdout, root);
		fputc('\n', stdout);
	} else {
		status_print(root, conns, n);
	}
	rc = fflush(stdout) ? 1 : 0;
out:
	free(conns);
	json_free(root);
	free(reply);
	return rc;
}
