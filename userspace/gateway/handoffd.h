/* handoffd.h — the local handoff listener: connections an agent on this host passes over a Unix
 * socket. */
#ifndef S46_HANDOFFD_H
#define S46_HANDOFFD_H

struct worker;

/*
 * The Unix SOCK_SEQPACKET socket at path (a stale socket there is replaced); channels from
 * users other than root and the gateway's own are closed (SO_PEERCRED).
 * Each message on a channel is one SOCKS5 CONNECT request with the program's connection
 * as its one SCM_RIGHTS descriptor; no reply goes back. Returns the listening fd or -errno.
 */
int handoffd_listen(const char *path);

/* Serves lfd (shared by every worker; -1: no handoff) in w's loop. Returns 0 or -errno. */
int handoffd_worker_start(struct worker *w, int lfd);
/* Stops taking channels and closes w's (draining, or the end). */
void handoffd_worker_stop(struct worker *w);

#endif
