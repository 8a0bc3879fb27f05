/* sockdiag.h — the kernel's socket diagnostics over netlink: TCP sockets, UDP socket cookies and
 * the processes owning them. */
#ifndef S46_SOCKDIAG_H
#define S46_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* One TCP socket of the caller's network namespace, as inet_diag reports it. */
struct sockdiag_sock {
	struct sockaddr_storage src, dst; /* local and remote address and port */
	uint64_t cookie;
	uint32_t inode; /* 0 for sockets without a file (time-wait, orphans) */
	uint32_t uid;
	uint8_t state; /* TCP_ESTABLISHED, ... (netinet/tcp.h) */
};

/* Return 0 to go on, anything else to stop the dump (returned by sockdiag_dump_tcp). */
typedef int sockdiag_cb(const struct sockdiag_sock *s, void *arg);

#define SOCKDIAG_ALL_STATES 0xfffu

/* Dumps TCP sockets of family af (AF_INET or AF_INET6) whose state bit (1 << state) is
 * in states. Returns 0, what cb returned to stop, or -errno. */
int sockdiag_dump_tcp(int af, uint32_t states, sockdiag_cb *cb, void *arg);

/* A NETLINK_SOCK_DIAG socket for UDP lookups, in the network namespace of the thread that made
 * it (a socket stays in the namespace it was made in). */
struct sockdiag_udp;
int sockdiag_udp_new(struct sockdiag_udp **out);
void sockdiag_udp_free(struct sockdiag_udp *d);
/* The cookie of the UDP socket that a datagram from remote to local (address and port) reaches:
 * 0, -ENOENT when none does (it was closed), or -errno. */
int sockdiag_udp_cookie(struct sockdiag_udp *d, const struct sockaddr *local,
			const struct sockaddr *remote, uint64_t *cookie);

/* Who holds a socket: filled by sockdiag_find_owners. */
struct sockdiag_owner {
	uint32_t inode;
	pid_t pid; /* 0 when no process of this pid namespace has it open */
	char comm[16];
};

/* Scans /proc/PID/fd once for "socket:[inode]" links and fills pid and comm of each of
 * the n entries (sorted here by inode). Returns how many were found, or -errno. */
int sockdiag_find_owners(struct sockdiag_owner *owners, size_t n);

#endif
