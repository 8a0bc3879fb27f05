/* udpgso.h — UDP segmentation offload: one send carries a train of datagrams, one receive several.
 */
#ifndef S46_UDPGSO_H
#define S46_UDPGSO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Datagrams in one train (the kernel's UDP_MAX_SEGMENTS). */
#define UDPGSO_MAX_SEGS 64

/* Whether the n datagrams of iov (one iovec each) can go as one train: 2 to UDPGSO_MAX_SEGS of
 * them, each the size of the first but the last, which may be shorter, 65,507 bytes in all. */
bool udpgso_fits(const struct iovec *iov, unsigned n);
/* Sends them with one sendmsg (UDP_SEGMENT): to dst, or the connected peer when dst is NULL;
 * extra (extralen bytes, whole CMSG_SPACE units, e.g. packet info) goes with it. The kernel
 * sends all or none. Returns 0 or -errno (one the caller answers by sending them one by one:
 * a kernel or route without GSO, a train larger than the path MTU allows). */
int udpgso_send(int fd, struct iovec *iov, unsigned n, const struct sockaddr *dst, socklen_t dstlen,
		const void *extra, size_t extralen);
/* Asks the kernel to hand over a train as it came, in one receive (UDP_GRO); best effort. */
void udpgso_want_gro(int fd);
/* The size of each datagram in a received message (its UDP_GRO control message), 0 when the
 * message is one datagram. */
size_t udpgso_segment(const struct msghdr *msg);

#endif
