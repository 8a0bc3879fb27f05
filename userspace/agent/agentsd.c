/* agentsd.c — tells systemd what the agent is doing: READY=1, STATUS= lines, watchdog pings. */
#include "agentsd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "ev.h"
#include "optin.h"
#include "redirect.h"
#include "sdnotify.h"

/* How often STATUS= follows the opt-ins and connections. */
#define AGENTSD_STATUS_MS 5000

/* One agent per process, so one timer. */
static struct agentsd {
	struct ev_timer t;
	struct agent *a;
	uint64_t ms;
	bool watchdog;
} agentsd;

struct agentsd_count {
	unsigned optins, attached, conns;
};

static void agentsd_count_optin(const struct optin_info *info, void *arg)
{
	struct agentsd_count *c = arg;

	c->optins++;
	c->attached += info->id != 0;
}

static void agentsd_count_conn(const struct redirect_info *ci, void *arg)
{
	struct agentsd_count *c = arg;

	c->conns++;
}

/* "STATUS=attached to 2 of 3 opt-ins, 5 connections, 1 gateway". */
static void agentsd_status(struct agent *a, char *buf, size_t len)
{
	struct agentsd_count c = {0};
	unsigned gws = a->conf->rcfg.ngateways;

	optin_walk(a->optin, agentsd_count_optin, &c);
	redirect_walk(a->redirect, agentsd_count_conn, &c);
	snprintf(buf, len, "STATUS=attached to %u of %u opt-in%s, %u connection%s, %u gateway%s",
		 c.attached, c.optins, c.optins == 1 ? "" : "s", c.conns, c.conns == 1 ? "" : "s",
		 gws, gws == 1 ? "" : "s");
}

void agentsd_ready(struct agent *a)
{
	char status[200];

	agentsd_status(a, status, sizeof(status));
	sdnotify_sendf("READY=1\n%s", status);
}

static void agentsd_tick(struct ev_loop *loop, struct ev_timer *t)
{
	char status[200];

	agentsd_status(agentsd.a, status, sizeof(status));
	sdnotify_sendf("%s%s", agentsd.watchdog ? "WATCHDOG=1\n" : "", status);
	ev_timer_start(loop, t, agentsd.ms);
}

void agentsd_start(struct agent *a)
{
	uint64_t wd_ms = sdnotify_watchdog_usec() / 2000;
	const char *sock = getenv("NOTIFY_SOCKET");

	agentsd.a = a;
	ev_timer_init(&agentsd.t, agentsd_tick);
	if (!sock || !*sock)
		return;
	agentsd.watchdog = wd_ms > 0;
	agentsd.ms = wd_ms && wd_ms < AGENTSD_STATUS_MS ? wd_ms : AGENTSD_STATUS_MS;
	if (!agentsd.ms)
		agentsd.ms = 1;
	ev_timer_start(a->loop, &agentsd.t, agentsd.ms);
}

void agentsd_stop(struct agent *a)
{
	if (agentsd.a == a)
		ev_timer_stop(a->loop, &agentsd.t);
}
