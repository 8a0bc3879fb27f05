/* netutil.c — listening sockets, address-in-use probing and the open-files limit. */
#include "netutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addr.h"

#define NETUTIL_NOFILE_WANT 262144
/* SYNs with data a listener may hold before their handshakes complete; past it, plain TCP. */
#define NETUTIL_TFO_QLEN 1024

/* With freebind an address that is not (yet) the host's is bound anyway: a listener may
 * start before DHCP, SLAAC or an administrator configures its address. */
static int netutil_bind(int fd, const struct sockaddr *sa, bool freebind)
{
	int one = 1;

	if (bind(fd, sa, addr_sa_len(sa)) == 0)
		return 0;
	if (errno != EADDRNOTAVAIL || !freebind)
		return -errno;
	/* IPV6_FREEBIND is Linux 4.15+; before it IP_FREEBIND covers IPv6 sockets too. */
	if ((sa->sa_family != AF_INET6 ||
	     setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0) &&
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0)
		return -EADDRNOTAVAIL;
	return bind(fd, sa, addr_sa_len(sa)) < 0 ? -errno : 0;
}

int netutil_socket(const struct sockaddr *sa, int type, bool reuseport, bool freebind)
{
	int one = 1, fd, err;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = netutil_bind(fd, sa, freebind);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

int netutil_listen(const struct sockaddr *sa, bool reuseport, bool freebind, int backlog)
{
	int fd = netutil_socket(sa, SOCK_STREAM, reuseport, freebind), err;

	if (fd < 0)
		return fd;
	if (listen(fd, backlog) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

uint16_t netutil_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return addr_port((struct sockaddr *)&ss);
}

bool netutil_freebound(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, &len) == 0 && on)
		return true;
	len = sizeof(on);
	return getsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, &len) == 0 && on;
}

int netutil_check_free(const struct sockaddr *sa, bool freebind)
{
	int fd = netutil_socket(sa, SOCK_STREAM, false, freebind);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

long netutil_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	/* Every relayed connection costs two descriptors; with CAP_SYS_RESOURCE go past the hard
	 * limit. */
	if (rl.rlim_max < NETUTIL_NOFILE_WANT) {
		struct rlimit want = {NETUTIL_NOFILE_WANT, NETUTIL_NOFILE_WANT};

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return (long)want.rlim_cur;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return (long)rl.rlim_cur;
}

void netutil_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void netutil_reset_on_close(int fd, bool rst)
{
	struct linger lg = {.l_onoff = rst, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

void netutil_fastopen_listen(int fd)
{
	int qlen = NETUTIL_TFO_QLEN;

	setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen));
}

void netutil_fastopen_connect(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one));
}
