/* udp.h — UDP ASSOCIATE (RFC 1928 section 7): one association per control connection. */
#ifndef S46_UDP_H
#define S46_UDP_H

#include <stdint.h>
#include <sys/socket.h>

#include "socks5.h"

struct worker;
struct udp_assoc;

/* Datagrams waiting for their destination name to resolve, per association (a flow's first
 * datagrams, while one lookup of its name is under way). */
#define UDP_MAX_PENDING 128

/*
 * Opens the association of a client whose control connection arrived on
 * ctl_local from client. want is the request's DST.ADDR/DST.PORT: the address
 * and port the client will send from, all-zero (or either part zero) for "not
 * known yet" — then the control connection's address is used and the first
 * datagram fixes the port. Only datagrams from that address are relayed.
 * user (may be NULL) must outlive the association; it is used by the rules.
 * *bnd gets the reply's BND.ADDR/PORT: the relay socket's own address (the
 * one the control connection reached, so the client can reach it), or the
 * configured udp-public-address with its port. After udp-idle-timeout without
 * a datagram either way, the association shuts ctl_fd (the control connection)
 * down: its owner sees the end and frees the association as for a client that
 * left. Returns 0 or -errno.
 */
int udp_assoc_new(struct udp_assoc **out, struct worker *w, int ctl_fd,
		  const struct sockaddr *ctl_local, const struct sockaddr *client,
		  const struct socks5_addr *want, const char *user, struct sockaddr_storage *bnd);

/* Ends the association (its control connection closed) and logs one line; NULL is fine. */
void udp_assoc_free(struct udp_assoc *a);

#endif
