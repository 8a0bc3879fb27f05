/* agent.c — `socks46 agent`: start-up order, signals, attach/detach of cgroups. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "addr.h"
#include "agent.h"
#include "agentconf.h"
#include "agentsd.h"
#include "bpfload.h"
#include "cmd.h"
#include "control.h"
#include "dnsd.h"
#include "ev.h"
#include "fastpath.h"
#include "gwprobe.h"
#include "gwresolve.h"
#include "handoff.h"
#include "log.h"
#include "netnswatch.h"
#include "optin.h"
#include "redirect.h"
#include "sdnotify.h"
#include "srvlist.h"
#include "udpend.h"
#include "udpfwd.h"

static void agent_usage(FILE *f)
{
	fprintf(f, "usage: socks46 agent --gateway HOST:PORT|--handoff PATH [--cgroup PATH]... "
		   "[OPTIONS]\n"
		   "\n"
		   "Loads the cgroup BPF programs, answers fake-IP DNS and forwards redirected\n"
		   "connections to a SOCKS5 gateway.\n"
		   "\n");
	conf_usage(f, agentconf_keys, AGENTCONF_PATH_DEFAULT);
}

/* The command line, then the configuration it names. Returns 0 or the exit status. */
static int agent_parse(struct agentconf *o, struct conf_cmdline *cl, int argc, char **argv)
{
	char err[CONF_ERRLEN];
	bool usage;

	agentconf_defaults(o);
	if (conf_cmdline_parse(cl, agentconf_keys, AGENTCONF_PATH_DEFAULT, argc, argv, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "%ssocks46 agent: %s (try socks46 agent --help)\n",
			log_journal_prefix(LOG_LVL_ERROR), err);
		return 2;
	}
	if (cl->help) {
		agent_usage(stdout);
		exit(0);
	}
	if (agentconf_build(o, cl, &usage, err, sizeof(err)) < 0) {
		fprintf(stderr, "%ssocks46 agent: %s\n", log_journal_prefix(LOG_LVL_ERROR), err);
		return usage ? 2 : 1;
	}
	log_set_level((enum log_level)o->log_level);
	return 0;
}

int agent_attach(struct agent *a, const char *name, bool unit, bool transient, char *msg,
		 size_t len)
{
	return optin_add(a->optin, name, unit, transient ? OPTIN_TRANSIENT : OPTIN_RUNTIME, msg,
			 len);
}

int agent_detach(struct agent *a, const char *name, bool unit, char *msg, size_t len)
{
	int rc = optin_remove(a->optin, name, unit, msg, len);

	if (!rc)
		log_info("%s", msg);
	return rc;
}

static void agent_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		agentreload_run(arg);
		return;
	}
	log_info("signal %u: stopping", si.ssi_signo);
	sdnotify_send("STOPPING=1");
	ev_stop(loop);
}

static int agent_signals(struct agent *a)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ev_io_add(a->loop, fd, EV_READ, agent_signal, a);
}

static void agent_bpf_config(const struct agentconf *o, const struct agent *a,
			     struct bpfload_config *bc)
{
	memset(bc, 0, sizeof(*bc));
	bc->netns_cookie = a->netns_cookie;
	bc->netns_inode = a->netns_inode;
	bc->mark = o->mark;
	memcpy(bc->exempt_uids, o->exempt_uids, sizeof(bc->exempt_uids));
	bc->nexempt = o->nexempt;
	bc->proxy_port = a->proxy_port;
	bc->dns_port = a->dns_port;
	bc->udp_port = a->udp_port;
	bc->pool4 = a->fcfg.pool4;
	bc->prefix4 = a->fcfg.prefix4;
	bc->pool6 = a->fcfg.pool6;
	bc->prefix6 = a->fcfg.prefix6;
	bc->no_dns = o->no_dns;
	bc->udp6 = a->udpfwd && udpfwd_has_v6(a->udpfwd);
	bc->pin_dir = o->pin_dir;
}

/* The DNS responder (and the gateway's RESOLVE check behind it). 0, or -1 after the line. */
static int agent_setup_dns(struct agent *a, struct agentconf *o)
{
	int rc;

	if (!o->upstream_set && dnsd_upstream_from_resolv("/etc/resolv.conf", &o->dcfg.upstream))
		log_warnx("no nameserver in /etc/resolv.conf: names that are not faked "
			  "get SERVFAIL (use --dns-upstream)");
	o->dcfg.no_fake = o->no_fake;
	o->dcfg.ttl_s = a->fcfg.ttl_s;
	o->dcfg.so_mark = o->mark;
	if (o->dcfg.check_exists) {
		o->rcfg.mark = o->mark;
		rc = gwresolve_new(&a->gwresolve, a->loop, &o->rcfg);
		if (rc)
			return log_fail("--check-exists: %s", strerror(-rc));
		o->dcfg.exists = gwresolve_exists;
		o->dcfg.exists_cancel = gwresolve_cancel;
		o->dcfg.exists_arg = a->gwresolve;
	}
	addr_set_port((struct sockaddr *)&o->dcfg.listen4, o->dns_port);
	addr_set_port((struct sockaddr *)&o->dcfg.listen6, o->dns_port);
	rc = dnsd_new(&a->dnsd, a->loop, &o->dcfg, a->fakeip);
	if (rc)
		return log_fail("DNS responder on port %u: %s", o->dns_port, strerror(-rc));
	a->dns_port = dnsd_port(a->dnsd);
	return 0;
}

/* The fast path where the kernel passes its probe; else one line, and the relay. */
static void agent_setup_fastpath(struct agent *a)
{
	char why[256] = "";
	int rc = fastpath_new(&a->fast, why, sizeof(why));

	if (rc) {
		log_warnx("fast path refused: %s; the agent relays the bytes", why);
		return;
	}
	redirect_set_fastpath(a->redirect, a->fast);
	log_info("fast path on: the kernel moves the bytes of relayed connections (sockmap)");
}

/* The gateway on this host takes the connections over its Unix socket; the gateways of the
 * configuration get those it cannot take. 0, or -1 after one line. */
static int agent_setup_handoff(struct agent *a, const struct agentconf *o)
{
	struct handoff_stats st;
	int rc = handoff_new(&a->handoff, a->loop, o->handoff);

	if (rc)
		return log_fail("handoff %s: %s", o->handoff, strerror(-rc));
	handoff_set_fallback(a->handoff, o->rcfg.ngateways > 0);
	redirect_set_handoff(a->redirect, a->handoff);
	handoff_get_stats(a->handoff, &st);
	log_info("handoff on: connections go to the gateway at %s%s%s", o->handoff,
		 st.up ? "" : " (not there yet)",
		 o->fast_path ? "; the fast path carries only those that fall back" : "");
	return 0;
}

/* Says whose sockets the programs leave alone besides the marked ones. */
static void agent_log_exempt(const struct agentconf *o)
{
	char list[S46_EXEMPT_MAX * 48] = "";
	size_t n = 0;

	for (unsigned i = 0; i < o->nexempt && n < sizeof(list); i++) {
		struct passwd *pw = getpwuid(o->exempt_uids[i]);

		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%u%s%s%s", i ? ", " : "",
				      o->exempt_uids[i], pw ? " (" : "", pw ? pw->pw_name : "",
				      pw ? ")" : "");
	}
	if (o->nexempt)
		log_info("sockets of uid %s are never redirected", list);
}

/* Loads the programs (refusing with one line on a kernel that lacks a feature), sweeps
 * stale pins, fills the policy map. 0, or -1 after the line. */
static int agent_setup_bpf(struct agent *a, struct agentconf *o)
{
	struct bpfload_config bc;
	char err[512] = "";
	int rc;

	agent_bpf_config(o, a, &bc);
	rc = bpfload_open(&a->bpf, &bc, err, sizeof(err));
	if (rc)
		return log_fail("%s", err);
	agent_log_exempt(o);
	redirect_set_bpf(a->redirect, a->bpf);
	if (a->udpfwd)
		udpfwd_set_bpf(a->udpfwd, a->bpf);
	if (o->pin_dir && (rc = bpfload_sweep(o->pin_dir)) > 0)
		log_info("removed %d pin director%s of cgroups that no longer exist", rc,
			 rc == 1 ? "y" : "ies");
	for (unsigned i = 0; i < o->npolicy; i++) {
		rc = bpfload_policy_add(a->bpf, o->policy[i].af, o->policy[i].addr,
					o->policy[i].len);
		if (rc)
			return log_fail("--via-gateway: %s", strerror(-rc));
	}
	/* A NAT64 prefix goes to the gateway as any policy prefix; target_of rewrites it. */
	for (unsigned i = 0; i < o->rcfg.target.nnat64; i++) {
		const struct prefix *p = &o->rcfg.target.nat64[i];

		rc = bpfload_policy_add(a->bpf, p->af, p->addr, p->len);
		if (rc)
			return log_fail("--nat64-prefix: %s", strerror(-rc));
	}
	return 0;
}

/* Opts in the configured cgroups and units, then those attached at run time before a
 * restart; a configured one that fails is fatal and leaves nothing behind. 0, or -1. */
static int agent_setup_optins(struct agent *a, struct agentconf *o)
{
	char msg[PATH_MAX + 128];
	int rc;

	rc = optin_new(&a->optin, a->loop, a->bpf, o->optin_state);
	if (rc)
		return log_fail("watching cgroups (inotify): %s", strerror(-rc));
	rc = optin_configure(a->optin, o->cgroups, o->ncgroups, o->units, o->nunits, msg,
			     sizeof(msg));
	if (rc)
		return log_fail("%s", msg);
	rc = optin_restore(a->optin);
	if (rc < 0)
		log_warnx("opt-ins from %s: %s", o->optin_state, strerror(-rc));
	rc = netnswatch_new(&a->netns, a, o->netns_policy);
	if (rc)
		return log_fail("network namespaces: %s", strerror(-rc));
	return 0;
}

/*
 * What can be checked before anything binds a port, loads a program or attaches: the password
 * file, the gateways, the opt-ins' names and (unless only checking) that no agent answers on
 * the control socket. 0, or -1 after one line.
 */
static int agent_validate(struct agent *a, struct agentconf *o, bool check_only)
{
	const char *path = control_path(o->control);
	struct agentconf_optin optins[2 * AGENTCONF_MAX_CGROUPS];
	char err[CONF_ERRLEN + PATH_MAX];
	int rc;

	if (o->password_file && (rc = conf_read_password(o->password_file, &a->password)))
		return log_fail("password-file %s: %s", o->password_file,
				rc == -EINVAL ? "empty or longer than 255 bytes" : strerror(-rc));
	o->rcfg.pass = a->password;
	rc = redirect_gateways_new(&a->gateways, &o->rcfg);
	if (rc)
		return log_fail("gateway: %s", strerror(-rc));
	rc = agentconf_resolve_optins(o, optins, err, sizeof(err));
	if (rc < 0)
		return log_fail("%s", err);
	agentconf_free_optins(optins, (unsigned)rc);
	if (check_only)
		return 0;
	rc = control_check(path);
	if (rc)
		return log_fail("control socket %s: %s", path,
				rc == -EADDRINUSE ? "another agent is running there"
						  : strerror(-rc));
	return 0;
}

/* Start-up before the loop runs: 0, or -1 after one line (agent_free undoes the rest). */
static int agent_setup(struct agent *a, struct agentconf *o)
{
	struct utsname u;
	struct stat st;
	int rc;

	o->rcfg.servers = a->gateways;
	rc = bpfload_netns_cookie(&a->netns_cookie);
	if (rc) {
		uname(&u);
		return log_fail("kernel %s lacks SO_NETNS_COOKIE (Linux 5.14+): %s", u.release,
				strerror(-rc));
	}
	if (!stat("/proc/self/ns/net", &st))
		a->netns_inode = (uint32_t)st.st_ino;
	a->fcfg = o->fcfg;
	rc = fakeip_open(&a->fakeip, &a->fcfg);
	if (rc)
		return log_fail("fake-IP table %s: %s",
				a->fcfg.state_path ? a->fcfg.state_path : "", strerror(-rc));
	if (!o->no_dns && agent_setup_dns(a, o) < 0)
		return -1;
	o->rcfg.mark = o->mark;
	o->rcfg.port = o->proxy_port;
	rc = redirect_new(&a->redirect, a->loop, &o->rcfg, NULL, a->netns_cookie, a->fakeip,
			  &a->fcfg);
	if (rc)
		return log_fail("proxy on 127.0.0.1:%u: %s", o->proxy_port, strerror(-rc));
	a->proxy_port = redirect_port(a->redirect);
	if (o->fast_path)
		agent_setup_fastpath(a);
	if (o->handoff && agent_setup_handoff(a, o) < 0)
		return -1;
	rc = udpfwd_new(&a->udpfwd, a->loop, S46_UDP_PORT_DEFAULT, &o->rcfg, NULL, a->fakeip,
			&a->fcfg);
	/* EPERM (SO_MARK without CAP_NET_ADMIN): loading the programs fails next, in one line. */
	if (rc && rc != -EPERM)
		log_warnx("UDP forwarder on port %u: %s (UDP to fake addresses is refused)",
			  S46_UDP_PORT_DEFAULT, strerror(-rc));
	else if (!rc)
		a->udp_port = udpfwd_port(a->udpfwd);
	if (agent_setup_bpf(a, o) < 0)
		return -1;
	rc = udpend_new(&a->udpend, a);
	if (rc)
		return log_fail("UDP: released sockets: %s", strerror(-rc));
	rc = control_new(&a->control, a->loop, control_path(o->control), a);
	if (rc)
		return log_fail("control socket %s: %s", control_path(o->control),
				rc == -EADDRINUSE ? "another agent is running there"
						  : strerror(-rc));
	return agent_setup_optins(a, o);
}

void agent_probe_gateways(struct agent *a)
{
	gwprobe_free(a->probe);
	a->probe = NULL;
	if (gwprobe_start(&a->probe, a->loop, a->gateways, a->conf->mark,
			  a->conf->rcfg.connect_ms + 1000, a->conf->rcfg.health_ms))
		log_warnx("cannot ask the gateways: out of memory");
}

/* Two descriptors per redirected connection: take what the hard limit allows. */
static void agent_raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void agent_free(struct agent *a)
{
	gwprobe_free(a->probe);
	control_free(a->control);
	netnswatch_free(a->netns);
	udpend_free(a->udpend);
	optin_free(a->optin);
	udpfwd_free(a->udpfwd);
	redirect_free(a->redirect);
	handoff_free(a->handoff);
	fastpath_free(a->fast);
	dnsd_free(a->dnsd);
	gwresolve_free(a->gwresolve);
	srvlist_free(a->gateways);
	fakeip_close(a->fakeip);
	/* Pinned links stay: until `socks46 detach`, connects fail at once. */
	bpfload_close(a->bpf);
	ev_loop_free(a->loop);
	conf_free_password(a->password);
	if (a->conf != a->boot) {
		agentconf_free(a->conf);
		free(a->conf);
	}
}

int agent_main(int argc, char **argv)
{
	struct agent a = {0};
	struct agentconf o;
	struct conf_cmdline cl;
	int rc, err;

	log_init(LOG_LVL_INFO, "socks46-agent");
	log_set_fatal_prefix("socks46 agent");
	agent_raise_nofile();
	rc = agent_parse(&o, &cl, argc, argv);
	if (rc)
		goto out;
	a.cmdline = &cl;
	a.boot = a.conf = &o;
	rc = 1;
	if (agent_validate(&a, &o, cl.check_config) < 0)
		goto out;
	rc = 0;
	if (cl.check_config)
		goto out;
	rc = 1;
	if ((err = ev_loop_new(&a.loop)) < 0 || (err = agent_signals(&a)) < 0) {
		log_fail("event loop: %s", strerror(-err));
		goto out;
	}
	if (agent_setup(&a, &o) < 0)
		goto out;
	fakeip_autosave(a.fakeip, a.loop);
	log_info("agent ready: proxy port %u, DNS port %u, %u gateway(s), %u opt-in(s)",
		 a.proxy_port, a.dns_port, o.rcfg.ngateways, o.ncgroups + o.nunits);
	agentsd_ready(&a);
	agentsd_start(&a);
	agent_probe_gateways(&a);
	rc = ev_run(a.loop) ? 1 : 0;
	agentsd_stop(&a);
out:
	agent_free(&a);
	agentconf_free(&o);
	conf_cmdline_free(&cl);
	return rc;
}
