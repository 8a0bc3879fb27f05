/* udpgso.c — UDP segmentation offload: one send carries a train of datagrams, one receive several.
 *
 * Why: a datagram's cost is mostly the kernel's walk through the stack, once per send and once
 * per receive. A train (UDP_SEGMENT, Linux 4.18) walks it once and is cut into datagrams at
 * the end (the receiving socket, or the device); a socket with UDP_GRO (5.0) takes a train
 * from a local sender whole. What the far end receives is the same datagrams either way.
 */
#include "udpgso.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* The largest UDP payload over IPv4 (65,535 - 20 - 8). */
#define UDPGSO_MAX_BYTES 65507

bool udpgso_fits(const struct iovec *iov, unsigned n)
{
	size_t seg, total = 0;

	if (n < 2 || n > UDPGSO_MAX_SEGS)
		return false;
	seg = iov[0].iov_len;
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > seg || (iov[i].iov_len < seg && i != n - 1) || !iov[i].iov_len)
			return false;
		total += iov[i].iov_len;
	}
	return total <= UDPGSO_MAX_BYTES;
}

int udpgso_send(int fd, struct iovec *iov, unsigned n, const struct sockaddr *dst, socklen_t dstlen,
		const void *extra, size_t extralen)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(uint16_t)) + 64];
	} c;
	struct msghdr msg = {.msg_name = (void *)dst,
			     .msg_namelen = dst ? dstlen : 0,
			     .msg_iov = iov,
			     .msg_iovlen = n,
			     .msg_control = c.buf};
	struct cmsghdr *cm;
	uint16_t seg = (uint16_t)iov[0].iov_len;

	if (extralen > sizeof(c.buf) - CMSG_SPACE(sizeof(seg)))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	if (extralen)
		memcpy(c.buf, extra, extralen);
	msg.msg_controllen = extralen + CMSG_SPACE(sizeof(seg));
	cm = (struct cmsghdr *)(c.buf + extralen);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	return sendmsg(fd, &msg, 0) < 0 ? -errno : 0;
}

void udpgso_want_gro(int fd)
{
	int one = 1;

	setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
}

size_t udpgso_segment(const struct msghdr *msg)
{
	struct cmsghdr *cm;
	int seg;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
			return seg > 0 ? (size_t)seg : 0;
		}
	}
	return 0;
}
