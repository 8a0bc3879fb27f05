/* agent.h — the running agent: its parts, shared with the control socket. */
#ifndef S46_AGENT_H
#define S46_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "fakeip.h"

struct ev_loop;
struct bpfload;
struct dnsd;
struct gwresolve;
struct redirect;
struct control;
struct srvlist;

struct agent {
	struct ev_loop *loop;
	struct bpfload *bpf;
	struct fakeip *fakeip;
	struct fakeip_config fcfg;
	struct srvlist *gateways; /* shared by the redirect and gwresolve; srvlist_swap replaces */
	struct dnsd *dnsd;	  /* NULL with --no-dns */
	struct gwresolve *gwresolve; /* --check-exists: RESOLVE at the gateway */
	struct redirect *redirect;
	struct control *control;
	uint64_t netns_cookie;
	uint16_t proxy_port, dns_port;
	char *password; /* RFC 1929 towards the gateway, from --password-file */
};

/* Opt a cgroup (a cgroup2 directory) in or out; errors get one line in err. 0 or -errno. */
int agent_attach(struct agent *a, const char *path, char *err, size_t errlen);
int agent_detach(struct agent *a, const char *path, char *err, size_t errlen);

#endif
