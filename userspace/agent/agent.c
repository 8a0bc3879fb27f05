/* agent.c — `socks46 agent`: options, start-up order, signals, attach/detach of cgroups. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "addr.h"
#include "agent.h"
#include "bpfload.h"
#include "cmd.h"
#include "control.h"
#include "dnsd.h"
#include "ev.h"
#include "gwresolve.h"
#include "log.h"
#include "prefix.h"
#include "redirect.h"

#define AGENT_MAX_CGROUPS 64
#define AGENT_MAX_POLICY 64
#define AGENT_FLUSH_MS 2000

struct agent_opts {
	struct redirect_config rcfg;
	struct dnsd_config dcfg;
	struct fakeip_config fcfg;
	const char *cgroups[AGENT_MAX_CGROUPS];
	unsigned ncgroups;
	struct prefix policy[AGENT_MAX_POLICY];
	unsigned npolicy;
	const char **no_fake;
	size_t nno_fake;
	const char *control;
	const char *pin_dir;
	const char *password_file;
	char *password;
	char *owned[256]; /* option strings copied from config files, freed at exit */
	unsigned nowned;
	bool no_dns, upstream_set;
	uint16_t proxy_port, dns_port;
	uint32_t mark;
};

/* Long option name, whether it takes a value, and a help line. */
static const struct option agent_longopts[] = {
    {"gateway", required_argument, NULL, 'g'},
    {"cgroup", required_argument, NULL, 'c'},
    {"config", required_argument, NULL, 'f'},
    {"user", required_argument, NULL, 'u'},
    {"password-file", required_argument, NULL, 'p'},
    {"control", required_argument, NULL, 'C'},
    {"pin-dir", required_argument, NULL, 'P'},
    {"no-pin", no_argument, NULL, 'N'},
    {"proxy-port", required_argument, NULL, 'x'},
    {"dns-port", required_argument, NULL, 'd'},
    {"dns-listen", required_argument, NULL, 'd'},
    {"dns-upstream", required_argument, NULL, 'U'},
    {"no-fake", required_argument, NULL, 'n'},
    {"no-dns", no_argument, NULL, 'D'},
    {"check-exists", no_argument, NULL, 'E'},
    {"fake-pool4", required_argument, NULL, '4'},
    {"fake-pool6", required_argument, NULL, '6'},
    {"fake-ttl", required_argument, NULL, 't'},
    {"fake-state", required_argument, NULL, 's'},
    {"state", required_argument, NULL, 's'},
    {"via-gateway", required_argument, NULL, 'v'},
    {"mark", required_argument, NULL, 'm'},
    {"connect-timeout", required_argument, NULL, 'T'},
    {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void agent_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: socks46 agent --gateway HOST:PORT [--cgroup PATH]... [OPTIONS]\n"
	    "\n"
	    "Loads the cgroup BPF programs, answers fake-IP DNS and forwards redirected\n"
	    "connections to a SOCKS5 gateway.\n"
	    "\n"
	    "  --gateway HOST:PORT     SOCKS5 gateway; repeat for fallbacks (tried in order)\n"
	    "  --cgroup PATH           cgroup2 directory to redirect; repeatable\n"
	    "  --config FILE           `option value` lines, same names as the long options\n"
	    "  --user NAME             RFC 1929 user towards the gateway\n"
	    "  --password-file FILE    its password (first line)\n"
	    "  --control PATH          control socket (default %s)\n"
	    "  --pin-dir DIR           pin links on bpffs here (default %s)\n"
	    "  --no-pin                do not pin: links go away with the agent\n"
	    "  --proxy-port PORT       loopback TCP proxy port (default %u)\n"
	    "  --dns-port PORT         loopback DNS responder port (default %u)\n"
	    "  --dns-upstream ADDR     real resolver (default: first nameserver of resolv.conf)\n"
	    "  --no-fake SUFFIX        never fake names under SUFFIX; repeatable\n"
	    "  --no-dns                do not steer DNS (no responder)\n"
	    "  --check-exists          NXDOMAIN for names the gateway cannot resolve\n"
	    "  --fake-pool4 CIDR       fake IPv4 pool (default 198.18.0.0/15)\n"
	    "  --fake-pool6 CIDR       fake IPv6 pool (default 2001:2::/48)\n"
	    "  --fake-ttl SECONDS      DNS TTL and how long unused entries live (default %u)\n"
	    "  --fake-state FILE       fake-IP table kept here across restarts (default %s)\n"
	    "  --via-gateway CIDR      real destinations that go through the gateway; repeatable\n"
	    "  --mark N                SO_MARK of sockets never redirected (default 0x%x)\n"
	    "  --connect-timeout MS    a gateway silent that long is skipped (default 2000)\n"
	    "  --log-level LEVEL       error, warn, info or debug\n",
	    CONTROL_PATH_DEFAULT, BPFLOAD_PIN_DIR_DEFAULT, S46_PROXY_PORT_DEFAULT,
	    S46_DNS_PORT_DEFAULT, FAKEIP_DEFAULT_TTL, FAKEIP_STATE_PATH, S46_MARK_DEFAULT);
}

static int agent_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out > max || *s == '-')
		return -EINVAL;
	return 0;
}

static int agent_read_password(const char *path, char **out)
{
	char buf[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0] || strlen(buf) > 255)
		return -EINVAL;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int agent_load_config(struct agent_opts *o, const char *path, char *err, size_t errlen);

/* A copy that lives as long as the options (config file lines are reused). */
static char *agent_keep(struct agent_opts *o, const char *val)
{
	char *s;

	if (o->nowned == sizeof(o->owned) / sizeof(o->owned[0]))
		return NULL;
	s = strdup(val);
	if (s)
		o->owned[o->nowned++] = s;
	return s;
}

static void agent_opts_free(struct agent_opts *o)
{
	while (o->nowned)
		free(o->owned[--o->nowned]);
	free(o->no_fake);
	free(o->password);
}

/* HOST:PORT with an IP literal, else a name resolved once at start-up; the gateway's own
 * name is then never faked, or the agent would send it to itself. */
static int agent_parse_gateway(struct agent_opts *o, const char *s, struct sockaddr_storage *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char host[256], *kept;
	const char *colon = strrchr(s, ':');
	socklen_t len;
	int rc;

	if (!addr_parse(s, 0, out, &len))
		return 0;
	if (!colon || (size_t)(colon - s) >= sizeof(host) || colon == s)
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return -EINVAL;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	kept = agent_keep(o, host);
	if (!kept)
		return -ENOMEM;
	rc = dnsd_no_fake_add(&o->no_fake, &o->nno_fake, kept);
	return rc == -EINVAL ? 0 : rc;
}

/* The numeric options: ports, mark, connect timeout. */
static int agent_set_number(struct agent_opts *o, int opt, const char *val)
{
	unsigned long n;
	int rc;

	switch (opt) {
	case 'x':
		rc = agent_parse_uint(val, 65535, &n);
		o->proxy_port = (uint16_t)n;
		break;
	case 'd':
		rc = agent_parse_uint(val, 65535, &n);
		o->dns_port = (uint16_t)n;
		break;
	case 'm':
		rc = agent_parse_uint(val, 0xffffffffUL, &n);
		o->mark = (uint32_t)n;
		break;
	default:
		rc = agent_parse_uint(val, 600000, &n);
		if (!rc && !n)
			rc = -EINVAL;
		o->rcfg.connect_ms = (unsigned)n;
		break;
	}
	return rc;
}

/* The options of the DNS responder and the fake-IP table. */
static int agent_set_dns(struct agent_opts *o, int opt, const char *val)
{
	socklen_t len;

	switch (opt) {
	case 'U':
		o->upstream_set = true;
		return addr_parse(val, 53, &o->dcfg.upstream, &len);
	case 'n':
		return dnsd_no_fake_add(&o->no_fake, &o->nno_fake, agent_keep(o, val) ?: val);
	case 'D':
		o->no_dns = true;
		return 0;
	case 'E':
		o->dcfg.check_exists = true;
		return 0;
	case 't':
		return fakeip_config_set_ttl(&o->fcfg, val);
	case 's':
		o->fcfg.state_path = strcmp(val, "none") ? agent_keep(o, val) : NULL;
		return 0;
	default: /* '4', '6' */
		return fakeip_config_set_pool(&o->fcfg, val);
	}
}

/* One option, from the command line or a config file. 0 or -errno with err set. */
static int agent_set(struct agent_opts *o, int opt, const char *val, char *err, size_t errlen)
{
	int rc = 0;

	switch (opt) {
	case 'g':
		if (o->rcfg.ngateways == REDIRECT_MAX_GATEWAYS) {
			snprintf(err, errlen, "at most %d gateways", REDIRECT_MAX_GATEWAYS);
			return -E2BIG;
		}
		rc = agent_parse_gateway(o, val, &o->rcfg.gateways[o->rcfg.ngateways]);
		if (!rc)
			o->rcfg.ngateways++;
		break;
	case 'c':
		if (o->ncgroups == AGENT_MAX_CGROUPS)
			return -E2BIG;
		if (!(o->cgroups[o->ncgroups++] = agent_keep(o, val)))
			rc = -ENOMEM;
		break;
	case 'f':
		return agent_load_config(o, val, err, errlen);
	case 'u':
		if (!*val || strlen(val) > 255)
			rc = -EINVAL;
		else if (!(o->rcfg.user = agent_keep(o, val)))
			rc = -ENOMEM;
		break;
	case 'p':
		if (!(o->password_file = agent_keep(o, val)))
			rc = -ENOMEM;
		break;
	case 'C':
		if (!(o->control = agent_keep(o, val)))
			rc = -ENOMEM;
		break;
	case 'P':
		if (!(o->pin_dir = agent_keep(o, val)))
			rc = -ENOMEM;
		break;
	case 'N':
		o->pin_dir = NULL;
		break;
	case 'v':
		if (o->npolicy == AGENT_MAX_POLICY)
			return -E2BIG;
		rc = prefix_parse(val, 0, &o->policy[o->npolicy]);
		if (!rc)
			o->npolicy++;
		break;
	case 'l':
		rc = log_level_parse(val);
		if (rc >= 0) {
			log_set_level((enum log_level)rc);
			rc = 0;
		}
		break;
	default:
		if (opt > 0 && strchr("xdmT", opt))
			rc = agent_set_number(o, opt, val);
		else if (opt > 0 && strchr("UnDE46ts", opt))
			rc = agent_set_dns(o, opt, val);
		else
			return -EINVAL;
		break;
	}
	if (rc)
		snprintf(err, errlen, "invalid value '%s'", val);
	return rc;
}

static int agent_load_config(struct agent_opts *o, const char *path, char *err, size_t errlen)
{
	char line[1024], e[256];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char *key = line, *val, *end;
		const struct option *lo;

		lineno++;
		key += strspn(key, " \t");
		key[strcspn(key, "#\r\n")] = '\0';
		if (!*key)
			continue;
		val = key + strcspn(key, " \t");
		if (*val)
			*val++ = '\0';
		val += strspn(val, " \t");
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		for (lo = agent_longopts; lo->name; lo++)
			if (!strcmp(lo->name, key) && strcmp(key, "config") && strcmp(key, "help"))
				break;
		if (!lo->name) {
			snprintf(err, errlen, "%s:%u: unknown option '%s'", path, lineno, key);
			rc = -EINVAL;
		} else if (lo->has_arg == required_argument && !*val) {
			snprintf(err, errlen, "%s:%u: %s needs a value", path, lineno, key);
			rc = -EINVAL;
		} else if ((rc = agent_set(o, lo->val, val, e, sizeof(e)))) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, key, e);
		}
	}
	fclose(f);
	return rc;
}

static void agent_opts_default(struct agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	fakeip_config_default(&o->fcfg);
	o->fcfg.state_path = FAKEIP_STATE_PATH;
	dnsd_config_default(&o->dcfg);
	o->pin_dir = BPFLOAD_PIN_DIR_DEFAULT;
	o->proxy_port = S46_PROXY_PORT_DEFAULT;
	o->dns_port = S46_DNS_PORT_DEFAULT;
	o->mark = S46_MARK_DEFAULT;
	o->rcfg.connect_ms = 2000;
	o->rcfg.reply_ms = 30000;
}

static int agent_parse(struct agent_opts *o, int argc, char **argv)
{
	char err[512];
	int opt, idx = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", agent_longopts, &idx)) != -1) {
		if (opt == 'h') {
			agent_usage(stdout);
			exit(0);
		}
		if (opt == '?') {
			fprintf(stderr, "socks46 agent: see socks46 agent --help\n");
			return 2;
		}
		err[0] = '\0';
		if (agent_set(o, opt, optarg, err, sizeof(err))) {
			if (opt == 'f')
				fprintf(stderr, "socks46 agent: %s\n", err);
			else
				fprintf(stderr, "socks46 agent: --%s: %s\n",
					agent_longopts[idx].name, err);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "socks46 agent: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->rcfg.ngateways) {
		fprintf(stderr, "socks46 agent: --gateway HOST:PORT is required\n");
		return 2;
	}
	if (o->rcfg.user && !o->password_file) {
		fprintf(stderr, "socks46 agent: --user needs --password-file\n");
		return 2;
	}
	return 0;
}

int agent_attach(struct agent *a, const char *path, char *err, size_t errlen)
{
	int rc = bpfload_attach(a->bpf, path);

	if (rc == -ENOTDIR)
		snprintf(err, errlen, "%s: not a cgroup2 directory", path);
	else if (rc == -EALREADY)
		snprintf(err, errlen, "%s: already attached", path);
	else if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	else
		log_info("attached %s", path);
	return rc;
}

int agent_detach(struct agent *a, const char *path, char *err, size_t errlen)
{
	int rc = bpfload_detach(a->bpf, path);

	if (rc == -ENOENT)
		snprintf(err, errlen, "%s: not attached to this agent", path);
	else if (rc == -ENOTDIR)
		snprintf(err, errlen, "%s: not a cgroup2 directory", path);
	else if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	else
		log_info("detached %s", path);
	return rc;
}

static void agent_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u: stopping", si.ssi_signo);
		ev_stop(loop);
	}
}

struct agent_flush {
	struct ev_timer t;
	struct fakeip *table;
};

/* Saving often keeps mappings that applications cached across a crash as well. */
static void agent_flush_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct agent_flush *f = container_of(t, struct agent_flush, t);
	int err = fakeip_flush(f->table);

	if (err)
		log_warnx("saving the fake-IP table: %s", strerror(-err));
	ev_timer_start(loop, t, AGENT_FLUSH_MS);
}

static int agent_signals(struct ev_loop *loop)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	/* Nothing to reload: a hangup of the starting terminal must not stop redirection. */
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ev_io_add(loop, fd, EV_READ, agent_signal, NULL);
}

static void agent_bpf_config(const struct agent_opts *o, const struct agent *a,
			     struct bpfload_config *bc)
{
	memset(bc, 0, sizeof(*bc));
	bc->netns_cookie = a->netns_cookie;
	bc->mark = o->mark;
	bc->proxy_port = a->proxy_port;
	bc->dns_port = a->dns_port;
	bc->pool4 = a->fcfg.pool4;
	bc->prefix4 = a->fcfg.prefix4;
	bc->pool6 = a->fcfg.pool6;
	bc->prefix6 = a->fcfg.prefix6;
	bc->no_dns = o->no_dns;
	bc->pin_dir = o->pin_dir;
}

/* The DNS responder (and the gateway's RESOLVE check behind it); fatal on failure. */
static void agent_setup_dns(struct agent *a, struct agent_opts *o)
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
			fatalx("--check-exists: %s", strerror(-rc));
		o->dcfg.exists = gwresolve_exists;
		o->dcfg.exists_cancel = gwresolve_cancel;
		o->dcfg.exists_arg = a->gwresolve;
	}
	addr_set_port((struct sockaddr *)&o->dcfg.listen4, o->dns_port);
	addr_set_port((struct sockaddr *)&o->dcfg.listen6, o->dns_port);
	rc = dnsd_start(&a->dnsd, a->loop, &o->dcfg, a->fakeip);
	if (rc)
		fatalx("DNS responder on port %u: %s", o->dns_port, strerror(-rc));
	a->dns_port = dnsd_port(a->dnsd);
}

/* Loads the programs (refusing with one line on a kernel that lacks a feature), sweeps
 * stale pins, fills the policy map; fatal on failure. */
static void agent_setup_bpf(struct agent *a, struct agent_opts *o)
{
	struct bpfload_config bc;
	char err[512] = "";
	int rc;

	agent_bpf_config(o, a, &bc);
	rc = bpfload_open(&a->bpf, &bc, err, sizeof(err));
	if (rc)
		fatalx("%s", err);
	redirect_set_bpf(a->redirect, a->bpf);
	if (o->pin_dir && (rc = bpfload_sweep(o->pin_dir)) > 0)
		log_info("removed %d pin director%s of cgroups that no longer exist", rc,
			 rc == 1 ? "y" : "ies");
	for (unsigned i = 0; i < o->npolicy; i++) {
		rc = bpfload_policy_add(a->bpf, o->policy[i].af, o->policy[i].addr,
					o->policy[i].len);
		if (rc)
			fatalx("--via-gateway: %s", strerror(-rc));
	}
}

/* Start-up before the loop runs: failures here are fatal with one line. */
static void agent_setup(struct agent *a, struct agent_opts *o)
{
	struct utsname u;
	char err[512];
	int rc;

	if (o->password_file && (rc = agent_read_password(o->password_file, &o->password)))
		fatalx("--password-file %s: %s", o->password_file,
		       rc == -EINVAL ? "empty or longer than 255 bytes" : strerror(-rc));
	o->rcfg.pass = o->password;
	rc = bpfload_netns_cookie(&a->netns_cookie);
	if (rc) {
		uname(&u);
		fatalx("kernel %s lacks SO_NETNS_COOKIE (Linux 5.14+): %s", u.release,
		       strerror(-rc));
	}
	a->fcfg = o->fcfg;
	rc = fakeip_open(&a->fakeip, &a->fcfg);
	if (rc)
		fatalx("fake-IP table %s: %s", a->fcfg.state_path ? a->fcfg.state_path : "",
		       strerror(-rc));
	if (!o->no_dns)
		agent_setup_dns(a, o);
	o->rcfg.mark = o->mark;
	o->rcfg.port = o->proxy_port;
	rc = redirect_start(&a->redirect, a->loop, &o->rcfg, NULL, a->netns_cookie, a->fakeip,
			    &a->fcfg);
	if (rc)
		fatalx("proxy on 127.0.0.1:%u: %s", o->proxy_port, strerror(-rc));
	a->proxy_port = redirect_port(a->redirect);
	agent_setup_bpf(a, o);
	rc = control_start(&a->control, a->loop, control_path(o->control), a);
	if (rc)
		fatalx("control socket %s: %s", control_path(o->control),
		       rc == -EADDRINUSE ? "another agent is running there" : strerror(-rc));
	for (unsigned i = 0; i < o->ncgroups; i++) {
		if (!agent_attach(a, o->cgroups[i], err, sizeof(err)))
			continue;
		/* Leave nothing behind: no pinned links, no control socket. */
		while (i--)
			bpfload_detach(a->bpf, o->cgroups[i]);
		control_stop(a->control);
		fatalx("--cgroup %s", err);
	}
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

int agent_main(int argc, char **argv)
{
	struct agent a = {0};
	struct agent_opts o;
	struct agent_flush fl;
	int rc;

	log_init(LOG_LVL_INFO, "socks46-agent");
	agent_raise_nofile();
	agent_opts_default(&o);
	rc = agent_parse(&o, argc, argv);
	if (rc)
		return rc;
	a.loop = ev_loop_new();
	if (!a.loop || agent_signals(a.loop))
		fatalx("event loop: %s", strerror(errno));
	agent_setup(&a, &o);
	fl.table = a.fakeip;
	ev_timer_init(&fl.t, agent_flush_cb);
	ev_timer_start(a.loop, &fl.t, AGENT_FLUSH_MS);
	log_info("agent ready: proxy port %u, DNS port %u, %u gateway(s), %u cgroup(s)",
		 a.proxy_port, a.dns_port, o.rcfg.ngateways, o.ncgroups);
	rc = ev_run(a.loop);
	ev_timer_stop(a.loop, &fl.t);
	control_stop(a.control);
	redirect_stop(a.redirect);
	dnsd_stop(a.dnsd);
	gwresolve_free(a.gwresolve);
	fakeip_close(a.fakeip);
	/* Pinned links stay: until `socks46 detach`, connects fail at once. */
	bpfload_close(a.bpf);
	ev_loop_free(a.loop);
	agent_opts_free(&o);
	return rc ? 1 : 0;
}
