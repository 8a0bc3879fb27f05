/* udpend.c — ends a program socket's UDP flows when the socket is released (cgroup/sock_release).
 *
 * Why a ring buffer: the release happens in the program's context, when nothing of the socket
 * reaches the forwarder any more; an event carrying its address and port is the one thing the
 * forwarder can match its flows with. The ring's descriptor wakes the agent's loop, and the
 * events are read from shared memory without a system call each.
 */
#include "udpend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "bpfload.h"
#include "ev.h"
#include "log.h"
#include "netns.h"
#include "netnswatch.h"
#include "udpfwd.h"

struct udpend {
	struct agent *a;
	int fd; /* the ring's epoll descriptor, -1 when not watched */
};

/* The forwarder of the namespace the socket lived in (the agent's own or a served one). */
static struct udpfwd *udpend_fwd(struct agent *a, uint64_t netns_cookie)
{
	struct netns *n;

	if (netns_cookie == a->netns_cookie)
		return a->udpfwd;
	n = a->netns ? netnswatch_by_cookie(a->netns, netns_cookie) : NULL;
	return n ? netns_udpfwd(n) : NULL;
}

static void udpend_one(const struct s46_udp_end *ev, void *arg)
{
	struct udpend *e = arg;
	struct udpfwd *u = udpend_fwd(e->a, ev->netns_cookie);

	if (u)
		udpfwd_sock_released(u, ev->cookie);
}

static void udpend_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct udpend *e = arg;
	int n;

	(void)loop;
	(void)fd;
	(void)events;
	n = bpfload_udp_end_read(e->a->bpf, udpend_one, e);
	if (n < 0)
		log_warnx("UDP: reading released sockets: %s", strerror(-n));
}

int udpend_new(struct udpend **out, struct agent *a)
{
	struct udpend *e = calloc(1, sizeof(*e));
	const char *missing = bpfload_udp_end_missing(a->bpf);
	int err;

	if (!e)
		return -ENOMEM;
	e->a = a;
	e->fd = -1;
	if (missing) {
		log_warnx("%s", missing);
	} else if (a->udp_port) {
		err = ev_io_add(a->loop, bpfload_udp_end_fd(a->bpf), EV_READ, udpend_cb, e);
		if (err) {
			free(e);
			return err;
		}
		e->fd = bpfload_udp_end_fd(a->bpf);
	}
	*out = e;
	return 0;
}

void udpend_free(struct udpend *e)
{
	if (!e)
		return;
	/* The descriptor is the ring's, closed with the programs. */
	if (e->fd >= 0)
		ev_io_del(e->a->loop, e->fd);
	free(e);
}
