/* netutil.h — small socket and process-limit helpers shared by the daemons. */
#ifndef S46_NETUTIL_H
#define S46_NETUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * A non-blocking socket of type (SOCK_STREAM, SOCK_DGRAM) bound to sa, with
 * SO_REUSEADDR; reuseport and freebind as for netutil_listen. Returns the fd
 * or -errno.
 */
int netutil_socket(const struct sockaddr *sa, int type, bool reuseport, bool freebind);
/*
 * A non-blocking listening TCP socket on sa (IPv6 sockets are IPv6-only, so
 * [::]:P and 0.0.0.0:P can both be listened on). reuseport sets SO_REUSEPORT
 * so every worker thread can have its own socket. With freebind an address
 * the host does not have (yet) is bound with IP_FREEBIND / IPV6_FREEBIND:
 * connections are accepted once it is added; without, that is -EADDRNOTAVAIL.
 * Returns the fd or -errno.
 */
int netutil_listen(const struct sockaddr *sa, bool reuseport, bool freebind, int backlog);
/* The port fd is bound to (host order), 0 if it cannot be read. */
uint16_t netutil_local_port(int fd);
/* Whether netutil_listen had to bind fd to an address the host did not have. */
bool netutil_freebound(int fd);

/* -EADDRINUSE if something already listens on sa (checked without SO_REUSEPORT), -errno if
 * netutil_listen would fail otherwise, else 0. */
int netutil_check_free(const struct sockaddr *sa, bool freebind);

/* Raises RLIMIT_NOFILE (past the hard limit when privileged); returns the new soft limit. */
long netutil_raise_nofile(void);

/* Best-effort TCP_NODELAY; relayed streams are already batched by their senders. */
void netutil_nodelay(int fd);
/* Best effort: with rst, close() sends an RST (SO_LINGER 0), so the peer learns at once that
 * its connection failed instead of reading a FIN as a complete answer; without, a FIN again. */
void netutil_reset_on_close(int fd, bool rst);

/*
 * TCP Fast Open (RFC 7413), best effort: a client's first bytes ride in its
 * SYN and reach the listener with the connection. Only where the host allows
 * it: net.ipv4.tcp_fastopen bit 0x2 for a listener (off by default), 0x1 for a
 * client (on by default); otherwise the socket is plain TCP.
 */
void netutil_fastopen_listen(int fd);
/* Before connect(): the SYN waits for the first send() and carries it (a cookie cached). */
void netutil_fastopen_connect(int fd);

#endif
