/* origdst.h — the original destination of a connection the agent accepted. */
#ifndef S46_ORIGDST_H
#define S46_ORIGDST_H

#include <stdint.h>
#include <sys/socket.h>

#include "s46_bpf.h"

struct bpfload;

/* The s46_conn key for a client whose address (the accepted socket's peer) is peer. */
int origdst_key(struct s46_conn_key *k, uint64_t netns_cookie, const struct sockaddr *peer);
/* The destination as a sockaddr: AF_INET for v4-mapped addresses, else AF_INET6. */
void origdst_sockaddr(const struct s46_dst *d, struct sockaddr_storage *ss, socklen_t *len);
/* Looks up (and removes from the map) what the accepted connection from peer (the address
 * accept() returned) originally wanted. Returns 0, -ENOENT (nothing published), or -errno. */
int origdst_lookup(struct bpfload *b, uint64_t netns_cookie, const struct sockaddr *peer,
		   struct s46_conn_val *out);

#endif
