/* control.c — the agent's unix control socket (attach, detach, status) and its client side. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "agent.h"
#include "bpfload.h"
#include "control.h"
#include "dnsd.h"
#include "ev.h"
#include "handoff.h"
#include "json.h"
#include "list.h"
#include "listener.h"
#include "log.h"
#include "netnswatch.h"
#include "optin.h"
#include "redirect.h"
#include "udpfwd.h"

/* A client has this long to send its request line, */
#define CONTROL_CLIENT_MS 5000
/* then this long to read the whole reply (a status of 20,000 entries is 1.7 MB). */
#define CONTROL_REPLY_MS 10000
/* Beyond this many clients a new one closes the oldest. */
#define CONTROL_MAX_CLIENTS 32
/* Reply bytes held for all clients together; a reply beyond it is refused. */
#define CONTROL_OUT_MAX (64u << 20)

struct control {
	struct ev_loop *loop;
	struct agent *agent;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct listener listener;
	struct list_head clients; /* newest first */
	unsigned nclients;
	size_t buffered; /* out_len of every client */
};

struct control_client {
	struct control *c;
	struct list_head link; /* in c->clients */
	int fd;
	char buf[CONTROL_LINE_MAX];
	size_t len;
	char *out; /* the reply, once the request is read */
	size_t out_len, out_off;
	struct ev_timer timer; /* CONTROL_CLIENT_MS, then CONTROL_REPLY_MS */
};

struct control_walk {
	FILE *f;
	bool first;
};

static void control_sep(struct control_walk *w)
{
	if (!w->first)
		fputc(',', w->f);
	w->first = false;
}

static void control_gw_cb(const struct redirect_gw_info *gi, void *arg)
{
	struct control_walk *w = arg;

	control_sep(w);
	fprintf(w->f, "{\"addr\":");
	json_write_str(w->f, gi->addr);
	fprintf(w->f, ",\"up\":%s,\"failures\":%u,\"inflight\":%u,\"total\":%llu}",
		gi->up ? "true" : "false", gi->failures, gi->inflight,
		(unsigned long long)gi->total);
}

static void control_cg_cb(const struct optin_info *in, void *arg)
{
	struct control_walk *w = arg;

	control_sep(w);
	fprintf(w->f, "{\"path\":");
	if (in->cgroup || !in->unit)
		json_write_str(w->f, in->cgroup ? in->cgroup : in->name);
	else
		fprintf(w->f, "null");
	fprintf(w->f, ",\"unit\":");
	if (in->unit)
		json_write_str(w->f, in->name);
	else
		fprintf(w->f, "null");
	fprintf(w->f, ",\"id\":%llu,\"attached\":%s,\"pinned\":%s,\"origin\":\"%s\"}",
		(unsigned long long)in->id, in->cgroup ? "true" : "false",
		in->pinned ? "true" : "false", optin_origin_name(in->origin));
}

static void control_fake_cb(const char *name, int af, const void *addr, unsigned refs,
			    uint64_t last_used_s, void *arg)
{
	struct control_walk *w = arg;
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(af, addr, buf, sizeof(buf));
	control_sep(w);
	fprintf(w->f, "{\"name\":");
	json_write_str(w->f, name);
	fprintf(w->f, ",\"addr\":\"%s\",\"refs\":%u,\"last_used\":%llu}", buf, refs,
		(unsigned long long)last_used_s);
}

static void control_conn_cb(const struct redirect_info *ci, void *arg)
{
	struct control_walk *w = arg;
	char a[ADDR_STRLEN];

	control_sep(w);
	fprintf(w->f, "{\"client\":\"%s\"", addr_format(ci->client, a, sizeof(a)));
	fprintf(w->f, ",\"cookie\":%llu,\"pid\":%u", (unsigned long long)ci->cookie, ci->pid);
	fprintf(w->f, ",\"orig\":\"%s\",\"target\":", addr_format(ci->orig, a, sizeof(a)));
	json_write_str(w->f, ci->target);
	fprintf(w->f, ",\"gateway\":");
	json_write_str(w->f, ci->gateway);
	fprintf(w->f, ",\"state\":\"%s\",\"bytes_up\":%llu,\"bytes_down\":%llu,\"age_ms\":%llu}",
		ci->state, (unsigned long long)ci->bytes_up, (unsigned long long)ci->bytes_down,
		(unsigned long long)ci->age_ms);
}

static void control_counters(FILE *f, struct agent *a)
{
	static const char *const bpf_names[S46_STAT_MAX] = {
	    "tcp_redirect", "dns_connect", "dns_sendmsg",  "dns_recvmsg",
	    "published",    "udp_denied",  "bpf_errors",   "udp_steered",
	    "udp_recvmsg",  "udp_end",	   "udp_end_lost",
	};
	uint64_t st[S46_STAT_MAX] = {0};
	struct redirect_stats rs;
	struct dnsd_stats ds = {0};
	struct handoff_stats hs = {0};

	bpfload_stats(a->bpf, st);
	redirect_get_stats(a->redirect, &rs);
	if (a->dnsd)
		dnsd_get_stats(a->dnsd, &ds);
	/* One handoff serves every namespace: its counters are the agent's. */
	if (a->handoff)
		handoff_get_stats(a->handoff, &hs);
	fprintf(f, "\"counters\":{");
	for (int i = 0; i < S46_STAT_MAX; i++)
		fprintf(f, "\"%s\":%llu,", bpf_names[i], (unsigned long long)st[i]);
	fprintf(f,
		"\"accepted\":%llu,\"forwarded\":%llu,\"refused\":%llu,\"no_gateway\":%llu,"
		"\"no_origdst\":%llu,\"no_name\":%llu,",
		rs.accepted, rs.forwarded, rs.refused, rs.no_gateway, rs.no_origdst, rs.no_name);
	fprintf(f, "\"handed_off\":%llu,\"handoff_fallback\":%llu,", hs.handed_off, hs.fallback);
	fprintf(f,
		"\"dns_queries\":%llu,\"dns_faked\":%llu,\"dns_forwarded\":%llu,"
		"\"dns_formerr\":%llu,\"dns_servfail\":%llu}",
		ds.queries, ds.faked, ds.forwarded, ds.formerr, ds.servfail);
}

static void control_flow_cb(const struct udpfwd_info *fi, void *arg)
{
	struct control_walk *w = arg;
	char a[ADDR_STRLEN];

	control_sep(w);
	fprintf(w->f, "{\"client\":\"%s\"", addr_format(fi->client, a, sizeof(a)));
	fprintf(w->f, ",\"orig\":\"%s\",\"target\":", addr_format(fi->orig, a, sizeof(a)));
	json_write_str(w->f, fi->target);
	fprintf(w->f, ",\"gateway\":");
	json_write_str(w->f, fi->gateway);
	fprintf(w->f,
		",\"state\":\"%s\",\"up\":%llu,\"down\":%llu,\"dropped\":%llu,"
		"\"age_ms\":%llu}",
		fi->state, (unsigned long long)fi->up, (unsigned long long)fi->down,
		(unsigned long long)fi->dropped, (unsigned long long)fi->age_ms);
}

/* Where the handoff goes and whether it works, null without --handoff. */
static void control_handoff(FILE *f, struct agent *a)
{
	struct handoff_stats hs;

	if (!a->handoff) {
		fprintf(f, "\"handoff\":null,");
		return;
	}
	handoff_get_stats(a->handoff, &hs);
	fprintf(f, "\"handoff\":{\"path\":");
	json_write_str(f, handoff_path(a->handoff));
	fprintf(f, ",\"up\":%s,\"channels\":%u},", hs.up ? "true" : "false", hs.channels);
}

/* The UDP forwarder's counters and flows (zeros and none without a forwarder). */
static void control_udp(FILE *f, struct agent *a)
{
	struct udpfwd_stats us = {0};
	struct control_walk w = {f, true};

	if (a->udpfwd)
		udpfwd_get_stats(a->udpfwd, &us);
	fprintf(f,
		",\"udp\":{\"port\":%u,\"flows\":%llu,\"up\":%llu,\"down\":%llu,"
		"\"dropped\":%llu,\"no_origdst\":%llu,\"no_name\":%llu,\"refused\":%llu,"
		"\"full\":%llu,\"closed\":%llu}",
		a->udp_port, us.flows, us.up, us.down, us.dropped, us.no_origdst, us.no_name,
		us.refused, us.full, us.closed);
	fprintf(f, ",\"udp_flows\":[");
	if (a->udpfwd)
		udpfwd_walk(a->udpfwd, control_flow_cb, &w);
	fprintf(f, "]");
}

/* The status JSON described in control.h; returns a malloc'd string or NULL. */
static char *control_status(struct agent *a)
{
	struct control_walk w;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fprintf(f,
		"{\"version\":1,\"pid\":%d,\"netns_cookie\":%llu,\"proxy_port\":%u,"
		"\"dns_port\":%u,\"conn_entries\":%ld,",
		(int)getpid(), (unsigned long long)a->netns_cookie, a->proxy_port, a->dns_port,
		bpfload_conn_count(a->bpf));
	/* The programs loaded with the settings started with: a reload keeps these. */
	fprintf(f, "\"exempt_uids\":[");
	for (unsigned i = 0; i < a->boot->nexempt; i++)
		fprintf(f, "%s%u", i ? "," : "", a->boot->exempt_uids[i]);
	fprintf(f, "],");
	w = (struct control_walk){f, true};
	fprintf(f, "\"gateway_policy\":\"%s\",\"gateways\":[",
		srvlist_policy_name(srvlist_get_policy(a->gateways)));
	redirect_walk_gateways(a->redirect, control_gw_cb, &w);
	w.first = true;
	fprintf(f, "],");
	control_handoff(f, a);
	fprintf(f, "\"cgroups\":[");
	optin_walk(a->optin, control_cg_cb, &w);
	fprintf(f, "],\"namespaces\":[");
	netnswatch_status(a->netns, f);
	fprintf(f, "],");
	control_counters(f, a);
	w.first = true;
	fprintf(f, ",\"fakeip\":[");
	fakeip_walk(a->fakeip, control_fake_cb, &w);
	w.first = true;
	fprintf(f, "],\"connections\":[");
	redirect_walk(a->redirect, control_conn_cb, &w);
	fprintf(f, "]");
	control_udp(f, a);
	fprintf(f, "}\n");
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

/* The opt-in commands: "attach PATH", "attach-unit NAME", "attach-transient PATH",
 * "detach PATH", "detach-unit NAME". Returns 1 if line is none of them. */
static int control_optin(struct control *c, const char *line, char *msg, size_t len, int *rc)
{
	static const struct {
		const char *verb;
		bool attach, unit, transient;
	} cmds[] = {
	    {"attach ", true, false, false},	      {"attach-unit ", true, true, false},
	    {"attach-transient ", true, false, true}, {"detach ", false, false, false},
	    {"detach-unit ", false, true, false},
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t n = strlen(cmds[i].verb);

		if (strncmp(line, cmds[i].verb, n))
			continue;
		if (cmds[i].attach)
			*rc = agent_attach(c->agent, line + n, cmds[i].unit, cmds[i].transient, msg,
					   len);
		else
			*rc = agent_detach(c->agent, line + n, cmds[i].unit, msg, len);
		return 0;
	}
	return 1;
}

static char *control_handle(struct control *c, char *line)
{
	char msg[4200], *reply;
	int rc = 0;

	if (!strcmp(line, "status"))
		return control_status(c->agent);
	msg[0] = '\0';
	if (!strncmp(line, "netns-add ", 10))
		rc = netnswatch_add_pid(c->agent->netns, atoi(line + 10), msg, sizeof(msg));
	else if (control_optin(c, line, msg, sizeof(msg), &rc))
		return strdup("error unknown command\n");
	if (asprintf(&reply, "%s %s\n", rc > 0 ? "none" : rc ? "error" : "ok", msg) < 0)
		return NULL;
	return reply;
}

static void control_client_free(struct control_client *cl)
{
	struct control *c = cl->c;

	ev_timer_stop(c->loop, &cl->timer);
	ev_io_del(c->loop, cl->fd);
	close(cl->fd);
	list_del(&cl->link);
	c->nclients--;
	c->buffered -= cl->out_len;
	free(cl->out);
	free(cl);
}

static void control_client_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct control_client *cl = container_of(t, struct control_client, timer);

	if (cl->out)
		log_warnx(
		    "control: a client read %zu of the %zu bytes of its reply in %d s, closed",
		    cl->out_off, cl->out_len, CONTROL_REPLY_MS / 1000);
	control_client_free(cl);
}

/* Sends what the client takes now; closes it when the reply is out or it is gone. */
static void control_client_flush(struct control_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return; /* EV_WRITE brings us back */
		if (n <= 0)
			break;
		cl->out_off += (size_t)n;
	}
	control_client_free(cl);
}

/*
 * Takes reply (malloc'd, or NULL for out of memory) as the client's output and
 * writes it as the socket takes it: never blocking the loop, which also serves
 * DNS and the redirected connections.
 */
static void control_client_reply(struct control_client *cl, char *reply)
{
	struct control *c = cl->c;
	size_t len = reply ? strlen(reply) : 0;

	if (reply && c->buffered + len > CONTROL_OUT_MAX) {
		log_warnx("control: %zu bytes of replies wait for clients, refusing a %zu-byte one",
			  c->buffered, len);
		free(reply);
		reply = strdup("error busy: too many replies waiting\n");
	}
	if (!reply)
		reply = strdup("error out of memory\n");
	if (!reply) {
		control_client_free(cl);
		return;
	}
	cl->out = reply;
	cl->out_len = strlen(reply);
	c->buffered += cl->out_len;
	if (ev_io_mod(c->loop, cl->fd, EV_WRITE) ||
	    ev_timer_start(c->loop, &cl->timer, CONTROL_REPLY_MS)) {
		control_client_free(cl);
		return;
	}
	control_client_flush(cl);
}

static void control_client_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct control_client *cl = arg;
	char *nl;
	ssize_t n;

	if (cl->out) {
		control_client_flush(cl);
		return;
	}
	n = recv(fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		control_client_free(cl);
		return;
	}
	cl->len += (size_t)n;
	cl->buf[cl->len] = '\0';
	nl = strchr(cl->buf, '\n');
	if (!nl) {
		if (cl->len == sizeof(cl->buf) - 1)
			control_client_reply(cl, strdup("error line too long\n"));
		return;
	}
	*nl = '\0';
	control_client_reply(cl, control_handle(cl->c, cl->buf));
}

static void control_accept(void *arg, int fd, const struct sockaddr *peer)
{
	struct control *c = arg;
	struct control_client *cl;

	if (c->nclients >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: %d clients, closing the oldest", CONTROL_MAX_CLIENTS);
		control_client_free(list_entry(c->clients.prev, struct control_client, link));
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->c = c;
	cl->fd = fd;
	ev_timer_init(&cl->timer, control_client_timeout);
	if (ev_io_add(c->loop, fd, EV_READ, control_client_io, cl) ||
	    ev_timer_start(c->loop, &cl->timer, CONTROL_CLIENT_MS)) {
		ev_io_del(c->loop, fd);
		close(fd);
		free(cl);
		return;
	}
	list_add(&cl->link, &c->clients);
	c->nclients++;
}

static int control_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Creates the socket's directory (one level, as /run/socks46 needs). */
static void control_mkdir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	mkdir(dir, 0755);
}

int control_check(const char *path)
{
	struct sockaddr_un sun;
	char *reply = NULL;
	int err = control_addr(path, &sun);

	if (err)
		return err;
	if (!control_request(path, "status", &reply)) {
		free(reply);
		return -EADDRINUSE;
	}
	return 0;
}

void control_strerror(const char *path, int err, char *buf, size_t len)
{
	if (err == -ENOENT || err == -ECONNREFUSED)
		snprintf(buf, len, "no agent running (nothing listens on %s)", path);
	else
		snprintf(buf, len, "%s: %s", path, strerror(-err));
}

int control_new(struct control **out, struct ev_loop *loop, const char *path, struct agent *a)
{
	struct sockaddr_un sun;
	struct control *c;
	int err, fd;

	err = control_addr(path, &sun);
	if (err)
		return err;
	/* Refuse to steal the socket of an agent that is still answering. */
	err = control_check(path);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->agent = a;
	list_init(&c->clients);
	listener_init(&c->listener, loop, "control", control_accept, c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	control_mkdir(path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	err = listener_add(&c->listener, fd);
	if (!err)
		err = listener_start(&c->listener);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	listener_close(&c->listener);
	free(c);
	return err;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	listener_close(&c->listener);
	while (!list_empty(&c->clients))
		control_client_free(list_first_entry(&c->clients, struct control_client, link));
	unlink(c->path);
	free(c);
}

const char *control_path(const char *opt)
{
	const char *env = getenv(CONTROL_ENV);

	if (opt)
		return opt;
	return env && *env ? env : CONTROL_PATH_DEFAULT;
}

int control_request(const char *path, const char *line, char **reply)
{
	struct timeval tv = {.tv_sec = 10};
	struct sockaddr_un sun;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, err;

	*reply = NULL;
	err = control_addr(path, &sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    dprintf(fd, "%s\n", line) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap += 65536;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*reply = buf;
	buf = NULL;
	err = 0;
out:
	free(buf);
	close(fd);
	return err;
}
