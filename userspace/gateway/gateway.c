/* gateway.c — `socks46 gateway`: options, configuration snapshots, worker threads, signals. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
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
#include "fdshare.h"
#include "gateway.h"
#include "handoffd.h"
#include "log.h"
#include "netmon.h"
#include "netutil.h"
#include "sdnotify.h"

static void gateway_usage(FILE *f)
{
	fprintf(f,
		"usage: socks46 gateway [OPTIONS]\n"
		"\n"
		"A dual-stack SOCKS5 server (RFC 1928/1929) that resolves names for its clients\n"
		"and connects with Happy Eyeballs (RFC 8305): RFC 3089 gateway G.\n"
		"\n");
	conf_usage(f, gwconf_keys, GWCONF_PATH_DEFAULT);
	fprintf(f, "\nSIGTERM drains and exits 0; SIGHUP reloads the config and users files.\n");
}

int gw_snap_new(struct gw_snap **out)
{
	struct gw_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	atomic_init(&s->refs, 1);
	gwconf_defaults(&s->conf);
	*out = s;
	return 0;
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
	gwconf_free(&s->conf);
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

/*
 * Defaults, then the file, then the flags; err gets the one line to print and *usage tells
 * whether the command line (not a file) is at fault.
 */
static struct gw_snap *gateway_build(const struct conf_cmdline *cl, bool *usage, char *err,
				     size_t errlen)
{
	struct gw_snap *s = NULL;

	*usage = false;
	if (gw_snap_new(&s) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cl->config && gwconf_load_file(&s->conf, cl->config, err, errlen) < 0)
		goto fail;
	/* Listen addresses on the command line replace the file's. */
	if (conf_cmdline_has(cl, "listen"))
		s->conf.listen_is_default = true;
	if (conf_cmdline_apply(cl, gwconf_keys, &s->conf, err, errlen) < 0) {
		*usage = true;
		goto fail;
	}
	if (s->conf.users_file && auth_db_load(s->conf.users_file, &s->auth, err, errlen) < 0)
		goto fail;
	return s;
fail:
	gw_snap_put(s);
	return NULL;
}

static int gateway_check_listen(const struct gwconf *c)
{
	char who[ADDR_STRLEN];

	for (unsigned i = 0; i < c->nlisten; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&c->listen[i];
		int err = netutil_check_free(sa, c->listen_freebind);

		if (err < 0) {
			fprintf(stderr, "%ssocks46 gateway: cannot listen on %s: %s\n",
				log_journal_prefix(LOG_LVL_ERROR),
				addr_format(sa, who, sizeof(who)), strerror(-err));
			return err;
		}
	}
	return 0;
}

/* SO_MARK needs CAP_NET_RAW (Linux 5.17+) or CAP_NET_ADMIN: say so at start, not once per
 * connection (a gateway run as a system user gets the capability from its unit). */
static int gateway_check_mark(const struct gwconf *c)
{
	int fd, err = 0;

	if (!c->mark)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &c->mark, sizeof(c->mark)) < 0) {
		err = -errno;
		fprintf(stderr,
			"%ssocks46 gateway: mark 0x%x: %s (SO_MARK needs CAP_NET_RAW or "
			"CAP_NET_ADMIN)\n",
			log_journal_prefix(LOG_LVL_ERROR), c->mark, strerror(-err));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

static void gateway_reload(struct gateway *gw, const struct conf_cmdline *a)
{
	char err[CONF_ERRLEN];
	bool usage;
	struct gw_snap *s = gateway_build(a, &usage, err, sizeof(err)), *old;

	if (!s) {
		log_error("reload: %s; keeping the previous configuration", err);
		return;
	}
	if (s->conf.nlisten != gw->snap->conf.nlisten ||
	    memcmp(s->conf.listen, gw->snap->conf.listen, sizeof(s->conf.listen)) ||
	    s->conf.threads != gw->snap->conf.threads ||
	    strcmp(s->conf.handoff ? s->conf.handoff : "",
		   gw->snap->conf.handoff ? gw->snap->conf.handoff : ""))
		log_warnx("reload: listen addresses, the handoff socket and threads change only on "
			  "restart");
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
			/* systemd hears from the first process only (NotifyAccess=main). */
			unsetenv("NOTIFY_SOCKET");
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

/* Tells systemd the listeners are up (at start and after a reload). */
static void gateway_notify_ready(const struct gateway *gw)
{
	sdnotify_sendf("READY=1\nSTATUS=listening on %u address%s, %u worker threads",
		       gw->snap->conf.nlisten, gw->snap->conf.nlisten == 1 ? "" : "es",
		       gw->nworkers);
}

/* How often STATUS= follows the connection count under systemd. */
#define GATEWAY_STATUS_MS 5000

/* What `systemctl status` shows between start and stop: this process's live connections. */
static void gateway_notify_status(struct gateway *gw)
{
	unsigned n = atomic_load(&gw->nconns);

	if (n != gw->status_conns)
		sdnotify_sendf("STATUS=serving %u connection%s", n, n == 1 ? "" : "s");
	gw->status_conns = n;
}

/* The main thread only waits for signals; the workers do everything else. */
static void gateway_signals(struct gateway *gw, const struct conf_cmdline *a, int sfd)
{
	struct signalfd_siginfo si;
	/* Under systemd the wait for signals also refreshes STATUS= now and then. */
	int tmo = getenv("NOTIFY_SOCKET") ? GATEWAY_STATUS_MS : -1;
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};

	gw->status_conns = UINT_MAX;
	for (;;) {
		ssize_t n;

		if (poll(&pfd, 1, tmo) == 0) {
			gateway_notify_status(gw);
			continue;
		}
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si)) {
			log_warn("signalfd");
			break;
		}
		for (unsigned i = 0; i < gw->nkids; i++)
			kill(gw->kids[i], (int)si.ssi_signo);
		if (si.ssi_signo == SIGHUP) {
			sdnotify_reloading();
			gateway_reload(gw, a);
			gateway_notify_ready(gw);
			continue;
		}
		log_info("signal %d: draining", (int)si.ssi_signo);
		sdnotify_send("STOPPING=1\nSTATUS=draining");
		break;
	}
	for (unsigned i = 0; i < gw->nworkers; i++)
		worker_post(&gw->workers[i], WORKER_CMD_DRAIN);
}

/* The handoff listener, made before the fork: every process and worker shares it. */
static int gateway_handoff(struct gateway *gw)
{
	const char *path = gw->snap->conf.handoff;

	if (!path)
		return 0;
	gw->handoff_fd = handoffd_listen(path);
	if (gw->handoff_fd < 0) {
		fprintf(stderr, "%ssocks46 gateway: cannot listen on the handoff socket %s: %s\n",
			log_journal_prefix(LOG_LVL_ERROR), path, strerror(-gw->handoff_fd));
		return -1;
	}
	gw->handoff_pid = getpid();
	return 0;
}

/* Only the process that made the socket removes its path (the others exit too). */
static void gateway_handoff_close(struct gateway *gw)
{
	if (gw->handoff_fd < 0)
		return;
	close(gw->handoff_fd);
	gw->handoff_fd = -1;
	if (gw->handoff_pid == getpid())
		unlink(gw->snap->conf.handoff);
}

/* One monitor per process, shared by the workers; started after the fork, before any client. */
static struct netmon *gateway_netmon(void)
{
	struct netmon *nm = NULL;
	int err = netmon_new(&nm);

	if (err)
		log_warnx("netmon: cannot follow addresses and routes: %s; assuming every route "
			  "exists",
			  strerror(-err));
	return nm;
}

static int gateway_run(struct gateway *gw, const struct conf_cmdline *a, int sfd)
{
	unsigned n = gw->snap->conf.threads, pool;
	char who[ADDR_STRLEN];
	int err = 0;

	if (!n) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	gw->workers = calloc(n, sizeof(*gw->workers));
	if (!gw->workers)
		return -ENOMEM;
	gw->netmon = gateway_netmon();
	pool = fdshare_pipe_pool(n);
	for (; gw->nworkers < n; gw->nworkers++) {
		err = worker_init(&gw->workers[gw->nworkers], gw, gw->nworkers, gw->snap, pool);
		if (err < 0) {
			gw->nworkers++;
			goto out;
		}
	}
	/* Two hashing threads: crypt(3) is slow on purpose and must not stall a loop. */
	err = authpool_new(&gw->authpool, 2, AUTHPOOL_PER_SOURCE, 2 * AUTHPOOL_PER_THREAD);
	if (err) {
		log_fail("cannot start the authentication threads: %s", strerror(-err));
		goto out;
	}
	fdshare_apply(gw, pool);
	for (unsigned i = 0; i < n && !err; i++)
		err = worker_start(&gw->workers[i]);
	if (err < 0)
		fatalx("cannot start worker threads: %s", strerror(-err));
	if (gw->handoff_fd >= 0)
		log_info("taking handed-over connections on %s", gw->snap->conf.handoff);
	for (unsigned i = 0; i < gw->snap->conf.nlisten; i++)
		log_info(
		    "listening on %s (%u threads)",
		    addr_format((struct sockaddr *)&gw->snap->conf.listen[i], who, sizeof(who)), n);
	gateway_notify_ready(gw);
	gateway_signals(gw, a, sfd);
	for (unsigned i = 0; i < n; i++)
		worker_join(&gw->workers[i]);
	authpool_free(gw->authpool);
	log_info("stopped");
out:
	for (unsigned i = 0; i < gw->nworkers; i++)
		worker_fini(&gw->workers[i]);
	free(gw->workers);
	netmon_free(gw->netmon);
	return err;
}

/* Options and configuration, before anything starts. Returns 0 to go on, the exit status,
 * or -1 after --help. */
static int gateway_configure(struct gateway *gw, struct conf_cmdline *a, int argc, char **argv)
{
	char err[CONF_ERRLEN];
	bool usage;

	if (conf_cmdline_parse(a, gwconf_keys, GWCONF_PATH_DEFAULT, argc, argv, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "%ssocks46 gateway: %s (try socks46 gateway --help)\n",
			log_journal_prefix(LOG_LVL_ERROR), err);
		return 2;
	}
	if (a->help) {
		gateway_usage(stdout);
		return -1;
	}
	gw->snap = gateway_build(a, &usage, err, sizeof(err));
	if (!gw->snap) {
		fprintf(stderr, "%ssocks46 gateway: %s\n", log_journal_prefix(LOG_LVL_ERROR), err);
		return usage ? 2 : 1;
	}
	return 0;
}

int gateway_main(int argc, char **argv)
{
	struct conf_cmdline a;
	struct gateway gw = {.lock = PTHREAD_MUTEX_INITIALIZER, .handoff_fd = -1};
	sigset_t set;
	int sfd, ret;

	log_set_fatal_prefix("socks46 gateway");
	ret = gateway_configure(&gw, &a, argc, argv);
	if (ret || a.check_config) {
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	ret = 1;
	log_init((enum log_level)gw.snap->conf.log_level, "socks46");
	if (gateway_check_listen(&gw.snap->conf) < 0 || gateway_check_mark(&gw.snap->conf) < 0)
		goto out;
	if (gateway_handoff(&gw) < 0)
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
		fprintf(stderr, "%ssocks46 gateway: signalfd: %s\n",
			log_journal_prefix(LOG_LVL_ERROR), strerror(errno));
		goto out;
	}
	ret = gateway_fork(&gw);
	if (ret < 0) {
		fprintf(stderr, "%ssocks46 gateway: cannot start %u processes: %s\n",
			log_journal_prefix(LOG_LVL_ERROR), gw.snap->conf.processes, strerror(-ret));
		ret = 1;
	} else {
		ret = gateway_run(&gw, &a, sfd) < 0 ? 1 : 0;
	}
	if (gateway_reap(&gw) < 0)
		ret = 1;
	close(sfd);
out:
	gateway_handoff_close(&gw);
	gw_snap_put(gw.snap);
	conf_cmdline_free(&a);
	return ret;
}
