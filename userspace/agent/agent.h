/* agent.h — the running agent: its parts, shared with the control socket. */
#ifndef S46_AGENT_H
#define S46_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agentconf.h"
#include "fakeip.h"

struct ev_loop;
struct bpfload;
struct dnsd;
struct gwresolve;
struct redirect;
struct fastpath;
struct handoff;
struct udpfwd;
struct udpend;
struct control;
struct srvlist;
struct optin;
struct gwprobe;
struct netnswatch;
struct conf_cmdline;

struct agent {
	struct ev_loop *loop;
	struct bpfload *bpf;
	struct fakeip *fakeip;
	struct fakeip_config fcfg;
	struct srvlist *gateways; /* shared by the redirect and gwresolve; srvlist_swap replaces */
	struct dnsd *dnsd;	  /* NULL with --no-dns */
	struct gwresolve *gwresolve; /* --check-exists: RESOLVE at the gateway */
	struct redirect *redirect;
	struct fastpath *fast;	 /* --fast-path on a kernel that passed its probe, else NULL */
	struct handoff *handoff; /* --handoff: shared by the redirects of every namespace */
	struct udpfwd *udpfwd;	 /* NULL when its port could not be had: UDP is then refused */
	struct udpend *udpend;	 /* ends flows when their program's socket is released */
	struct control *control;
	struct optin *optin;
	struct netnswatch *netns; /* the other network namespaces served */
	uint64_t netns_cookie;	  /* the agent's own network namespace */
	uint32_t netns_inode;
	uint16_t proxy_port, dns_port, udp_port; /* udp_port 0: no forwarder */
	char *password;	       /* RFC 1929 towards the gateway, from --password-file */
	struct gwprobe *probe; /* asks the gateways once after start and after a reload */
	/* SIGHUP replays the command line over the file. The settings started with stay (what
	 * needs a restart keeps their values); a reload's settings replace the previous one's. */
	const struct conf_cmdline *cmdline;
	struct agentconf *boot, *conf;
};

/* Opt a cgroup in by path or by unit (see optin_add), at run time: recorded in the opt-in
 * file unless transient (one command of `socks46 run`). msg gets one line. 0 or -errno. */
int agent_attach(struct agent *a, const char *name, bool unit, bool transient, char *msg,
		 size_t len);
/* Opt it out; one that is not attached is fine. 0 or -errno. */
int agent_detach(struct agent *a, const char *name, bool unit, char *msg, size_t len);

/* Asks the gateways once in the background; warns when none answers. */
void agent_probe_gateways(struct agent *a);

/* SIGHUP: rereads the configuration and applies it, or keeps the running one (agentreload.c). */
void agentreload_run(struct agent *a);

#endif
