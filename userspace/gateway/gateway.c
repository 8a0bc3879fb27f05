/* gateway.c — `socks46 gateway`: options, configuration snapshots, worker threads, signals. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "gateway.h"
#include "log.h"
#include "netutil.h"

/* One command-line setting, replayed over the config file on every (re)load. */
struct gateway_opt {
	const char *key;
	const char *value;
};

struct gateway_args {
	const char *config;
	struct gateway_opt *opts;
	unsigned nopts;
	bool has_listen;
};

static const struct option gateway_long[] = {
    {"listen", required_argument, NULL, 0},
    {"listen-freebind", required_argument, NULL, 0},
    {"config", required_argument, NULL, 0},
    {"users", required_argument, NULL, 0},
    {"threads", required_argument, NULL, 0},
    {"log-level", required_argument, NULL, 0},
    {"he-delay", required_argument, NULL, 0},
    {"prefer", required_argument, NULL, 0},
    {"handshake-timeout", required_argument, NULL, 0},
    {"connect-timeout", required_argument, NULL, 0},
    {"idle-timeout", required_argument, NULL, 0},
    {"udp-idle-timeout", required_argument, NULL, 0},
    {"drain-timeout", required_argument, NULL, 0},
    {"max-conns", required_argument, NULL, 0},
    {"resolv-conf", required_argument, NULL, 0},
    {"dns-server", required_argument, NULL, 0},
    {"mark", required_argument, NULL, 0},
    {"rule", required_argument, NULL, 0},
    {"udp-public-address", required_argument, NULL, 0},
    {"upstream", required_argument, NULL, 0},
    {"route", required_argument, NULL, 0},
    {"upstream-fail-limit", required_argument, NULL, 0},
    {"upstream-bad-time", required_argument, NULL, 0},
    {"bind-timeout", required_argument, NULL, 0},
    {"processes", required_argument, NULL, 0},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void gateway_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: socks46 gateway [OPTIONS]\n"
	    "\n"
	    "A dual-stack SOCKS5 server (RFC 1928/1929) that resolves names for its clients\n"
	    "and connects with Happy Eyeballs (RFC 8305): RFC 3089 gateway G.\n"
	    "\n"
	    "  --listen ADDR:PORT        listen here (repeatable; default 127.0.0.1:1080 and "
	    "[::1]:1080)\n"
	    "  --listen-freebind yes|no  listen on addresses the host gets only later (default no)\n"
	    "  --config FILE             `key value` lines with the keys below (flags win); reread "
	    "on SIGHUP\n"
	    "  --users FILE              require RFC 1929 login; `name:hash` lines, crypt(3) "
	    "hashes\n"
	    "  --threads N               worker threads, one event loop each (default: one per "
	    "core)\n"
	    "  --log-level L             error, warn, info (default; one line per connection) or "
	    "debug\n"
	    "  --he-delay MS             Happy Eyeballs connection attempt delay (default 250)\n"
	    "  --prefer ipv4|ipv6        family tried first (default ipv6)\n"
	    "  --handshake-timeout S     greeting to request (default 10)\n"
	    "  --connect-timeout S       request to connected, reply 0x06 after (default 10)\n"
	    "  --idle-timeout S          close relays idle this long, 0 = never (default 300)\n"
	    "  --udp-idle-timeout S      end UDP associations without datagrams this long, 0 = "
	    "never\n"
	    "                            (default: the idle timeout)\n"
	    "  --drain-timeout S         on SIGTERM, wait this long for connections (default 10)\n"
	    "  --max-conns N             refuse clients beyond N live connections (default "
	    "unlimited)\n"
	    "  --resolv-conf FILE        DNS servers from FILE (default /etc/resolv.conf)\n"
	    "  --dns-server ADDR[:PORT]  DNS servers, comma separated (overrides resolv.conf)\n"
	    "  --mark N                  SO_MARK for outbound and DNS sockets (0x5346 for the "
	    "agent)\n"
	    "  --rule 'allow|deny ...'   access rule, first match wins (repeatable; see README)\n"
	    "  --udp-public-address IP   BND.ADDR of UDP ASSOCIATE replies, for clients behind NAT\n"
	    "  --bind-timeout S          BIND: wait this long for the peer, then 0x06 (default 60)\n"
	    "  --upstream 'NAME HOST:PORT [user U password-file F]'  an upstream SOCKS5 server\n"
	    "  --route '[to CIDR|.SUFFIX|NAME|*] [port N|N-M] via NAME[,NAME]|direct'\n"
	    "                            send matching requests through upstreams (first match)\n"
	    "  --upstream-fail-limit N   failures in a row that mark an upstream bad (default 3)\n"
	    "  --upstream-bad-time S     how long a bad upstream is skipped (default 30)\n"
	    "  --processes N             gateway processes sharing the port, for more descriptors\n"
	    "                            than one process may hold (default 1)\n"
	    "  --help                    this text\n"
	    "\n"
	    "SIGTERM drains and exits 0; SIGHUP reloads the config and users files.\n");
}

struct gw_snap *gw_snap_new(void)
{
	struct gw_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	conf_defaults(&s->conf);
	return s;
}

struct gw_snap *gw_snap_ref(struct gw_snap *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void gw_snap_put(struct gw_snap *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	auth_db_free(s->auth);
	conf_free(&s->conf);
	free(s);
}

struct gw_snap *gateway_snap_get(struct gateway *gw)
{
	struct gw_snap *s;

	pthread_mutex_lock(&gw->lock);
	s = gw_snap_ref(gw->snap);
	pthread_mutex_unlock(&gw->lock);
	return s;
}

/* Defaults, then the file, then the flags; err gets the one line to print. */
static struct gw_snap *gateway_build(const struct gateway_args *a, char *err, size_t errlen)
{
	char msg[CONF_ERRLEN - 8];
	struct gw_snap *s = gw_snap_new();

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (a->config && conf_load_file(&s->conf, a->config, err, errlen) < 0)
		goto fail;
	if (a->has_listen)
		s->conf.listen_is_default = true;
	for (unsigned i = 0; i < a->nopts; i++) {
		if (conf_set(&s->conf, a->opts[i].key, a->opts[i].value, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "--%s", msg);
			goto fail;
		}
	}
	if (s->conf.users_file && auth_db_load(s->conf.users_file, &s->auth, err, errlen) < 0)
		goto fail;
	return s;
fail:
	gw_snap_put(s);
	return NULL;
}

static int gateway_parse_args(int argc, char **argv, struct gateway_args *a)
{
	int c, idx;

	a->opts = calloc((size_t)argc, sizeof(*a->opts));
	if (!a->opts)
		return -ENOMEM;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", gateway_long, &idx)) != -1) {
		if (c == 'h') {
			gateway_usage(stdout);
			exit(0);
		}
		if (c == '?' || c == ':') {
			fprintf(stderr,
				"socks46: gateway: %s option '%s' (try socks46 gateway --help)\n",
				c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
			return -EINVAL;
		}
		if (!strcmp(gateway_long[idx].name, "config")) {
			a->config = optarg;
			continue;
		}
		if (!strcmp(gateway_long[idx].name, "listen"))
			a->has_listen = true;
		a->opts[a->nopts].key = gateway_long[idx].name;
		a->opts[a->nopts++].value = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "socks46: gateway: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int gateway_check_listen(const struct conf *c)
{
	char who[ADDR_STRLEN];

	for (unsigned i = 0; i < c->nlisten; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&c->listen[i];
		int err = netutil_check_free(sa, c->listen_freebind);

		if (err < 0) {
			fprintf(stderr, "socks46: cannot listen on %s: %s\n",
				addr_format(sa, who, sizeof(who)), strerror(-err));
			return err;
		}
	}
	return 0;
}

static void gateway_reload(struct gateway *gw, const struct gateway_args *a)
{
	char err[CONF_ERRLEN];
	struct gw_snap *s = gateway_build(a, err, sizeof(err)), *old;

	if (!s) {
		log_error("reload: %s; keeping the previous configuration", err);
		return;
	}
	if (s->conf.nlisten != gw->snap->conf.nlisten ||
	    memcmp(s->conf.listen, gw->snap->conf.listen, sizeof(s->conf.listen)) ||
	    s->conf.threads != gw->snap->conf.threads)
		log_warnx("reload: listen addresses and threads change only on restart");
	log_set_level((enum log_level)s->conf.log_level);
	pthread_mutex_lock(&gw->lock);
	old = gw->snap;
	gw->snap = s;
	pthread_mutex_unlock(&gw->lock);
	gw_snap_put(old);
	for (unsigned i = 0; i < gw->nworkers; i++)
		worker_post(&gw->workers[i], WORKER_CMD_RELOAD);
	log_info("reloaded configuration (%zu users)", auth_db_count(s->auth));
}

/*
 * --processes N: N - 1 copies of this process, forked before any thread
 * exists, each with its own workers and SO_REUSEPORT listeners, so the
 * descriptor limit (per process) is N times larger. The first process passes
 * SIGTERM and SIGHUP on; a copy ends when the first one dies.
 */
static int gateway_fork(struct gateway *gw)
{
	unsigned n = gw->snap->conf.processes;

	if (n <= 1)
		return 0;
	gw->kids = calloc(n - 1, sizeof(*gw->kids));
	if (!gw->kids)
		return -ENOMEM;
	for (unsigned i = 1; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -errno;
		if (pid == 0) {
			free(gw->kids);
			gw->kids = NULL;
			gw->nkids = 0;
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				_exit(0);
			return 0;
		}
		gw->kids[gw->nkids++] = pid;
	}
	log_info("%u gateway processes", n);
	return 0;
}

/* Waits for the copies; the exit status is 0 only if every one drained cleanly. */
static int gateway_reap(struct gateway *gw)
{
	int ret = 0;

	/* Already sent on a signal; this covers a first process that failed by itself. */
	for (unsigned i = 0; i < gw->nkids; i++)
		kill(gw->kids[i], SIGTERM);
	for (unsigned i = 0; i < gw->nkids; i++) {
		int st;

		while (waitpid(gw->kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			ret = -ECHILD;
	}
	free(gw->kids);
	gw->kids = NULL;
	return ret;
}

/* The main thread only waits for signals; the workers do everything else. */
static void gateway_signals(struct gateway *gw, const struct gateway_args *a, int sfd)
{
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si)) {
			log_warn("signalfd");
			break;
		}
		for (unsigned i = 0; i < gw->nkids; i++)
			kill(gw->kids[i], (int)si.ssi_signo);
		if (si.ssi_signo == SIGHUP) {
			gateway_reload(gw, a);
			continue;
		}
		log_info("signal %d: draining", (int)si.ssi_signo);
		break;
	}
	for (unsigned i = 0; i < gw->nworkers; i++)
		worker_post(&gw->workers[i], WORKER_CMD_DRAIN);
}

static int gateway_run(struct gateway *gw, const struct gateway_args *a, int sfd)
{
	unsigned n = gw->snap->conf.threads;
	char who[ADDR_STRLEN];
	int err = 0;

	if (!n) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	gw->workers = calloc(n, sizeof(*gw->workers));
	if (!gw->workers)
		return -ENOMEM;
	for (; gw->nworkers < n; gw->nworkers++) {
		err = worker_init(&gw->workers[gw->nworkers], gw, gw->nworkers, gw->snap);
		if (err < 0) {
			gw->nworkers++;
			goto out;
		}
	}
	/* Two hashing threads: crypt(3) is slow on purpose and must not stall a loop. */
	gw->authpool = authpool_new(2);
	if (!gw->authpool)
		fatalx("cannot start the authentication threads");
	for (unsigned i = 0; i < n && !err; i++)
		err = worker_start(&gw->workers[i]);
	if (err < 0)
		fatalx("cannot start worker threads: %s", strerror(-err));
	for (unsigned i = 0; i < gw->snap->conf.nlisten; i++)
		log_info(
		    "listening on %s (%u threads)",
		    addr_format((struct sockaddr *)&gw->snap->conf.listen[i], who, sizeof(who)), n);
	gateway_signals(gw, a, sfd);
	for (unsigned i = 0; i < n; i++)
		worker_join(&gw->workers[i]);
	authpool_free(gw->authpool);
	log_info("stopped");
out:
	for (unsigned i = 0; i < gw->nworkers; i++)
		worker_fini(&gw->workers[i]);
	free(gw->workers);
	return err;
}

int gateway_main(int argc, char **argv)
{
	struct gateway_args a = {0};
	struct gateway gw = {.lock = PTHREAD_MUTEX_INITIALIZER};
	char err[CONF_ERRLEN];
	sigset_t set;
	int sfd, ret = 1;

	if (gateway_parse_args(argc, argv, &a) < 0)
		goto out;
	gw.snap = gateway_build(&a, err, sizeof(err));
	if (!gw.snap) {
		fprintf(stderr, "socks46: %s\n", err);
		goto out;
	}
	log_init((enum log_level)gw.snap->conf.log_level, "socks46");
	if (gateway_check_listen(&gw.snap->conf) < 0)
		goto out;
	log_info("descriptor limit %ld", netutil_raise_nofile());
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before the workers exist, so only the signalfd ever sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "socks46: signalfd: %s\n", strerror(errno));
		goto out;
	}
	ret = gateway_fork(&gw);
	if (ret < 0) {
		fprintf(stderr, "socks46: cannot start %u processes: %s\n", gw.snap->conf.processes,
			strerror(-ret));
		ret = 1;
	} else {
		ret = gateway_run(&gw, &a, sfd) < 0 ? 1 : 0;
	}
	if (gateway_reap(&gw) < 0)
		ret = 1;
	close(sfd);
out:
	gw_snap_put(gw.snap);
	free(a.opts);
	return ret;
}
