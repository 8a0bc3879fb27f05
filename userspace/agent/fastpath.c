/* fastpath.c — loads the sk_skb program and runs pairs: the kernel moves bytes, the agent FINs. */
#include "fastpath.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath_int.h"
#include "s46_fast.skel.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static int fastpath_cookie(int fd, uint64_t *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, out, &len) < 0 ? -errno : 0;
}

static int fastpath_rcvlowat(int fd, int v)
{
	return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) < 0 ? -errno : 0;
}

/*
 * Setting SO_RCVLOWAT takes the socket lock (so a softirq that was running the program on
 * this socket has finished) and calls its data_ready, which, once the socket is in the map,
 * runs the program over everything queued (tcp_set_rcvlowat).
 */
int fastpath_kick(int fd)
{
	return fastpath_rcvlowat(fd, 1);
}

/*
 * Bytes fd has taken to send since it was created (acked + still queued), counted apart from
 * any SYN by taking differences. TCP_INFO is read before SIOCOUTQ: an ACK between the two
 * can only make the sum smaller than the truth, never larger.
 */
static int fastpath_taken(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

void fastpath_val(struct fastpath *fp, uint64_t cookie, struct s46_fast_val *v)
{
	if (bpf_map_lookup_elem(fp->pairs_fd, &cookie, v) < 0)
		memset(v, 0, sizeof(*v));
}

void fastpath_unlink(struct fastpath *fp, const uint64_t cookie[2])
{
	for (int i = 0; i < 2; i++) {
		bpf_map_delete_elem(fp->pairs_fd, &cookie[i]);
		bpf_map_delete_elem(fp->socks_fd, &cookie[i]);
	}
}

/*
 * While the pair goes into the maps, a high SO_RCVLOWAT keeps arriving bytes queued (the
 * program runs from data_ready, which waits for that much): the first socket in the map
 * cannot send on to a peer not in it yet. A FIN still wakes data_ready; what the program then
 * cannot pass on is counted as held and the owner resets the connection.
 */
int fastpath_link(struct fastpath *fp, const int fd[2], uint64_t cookie[2])
{
	struct s46_fast_val v[2];
	int err = 0;

	for (int i = 0; i < 2 && !err; i++)
		err = fastpath_cookie(fd[i], &cookie[i]);
	for (int i = 0; i < 2 && !err; i++)
		err = fastpath_rcvlowat(fd[i], INT_MAX);
	if (err)
		return err;
	for (int i = 0; i < 2; i++) {
		v[i] = (struct s46_fast_val){.peer = cookie[1 - i]};
		if (bpf_map_update_elem(fp->pairs_fd, &cookie[i], &v[i], BPF_NOEXIST) < 0) {
			/* Full (S46_FAST_MAX_SOCKS): no socket is in the map, nothing moved. */
			errno = ENOSPC;
			goto fail;
		}
	}
	for (int i = 0; i < 2; i++) {
		uint32_t fdv = (uint32_t)fd[i];

		if (bpf_map_update_elem(fp->socks_fd, &cookie[i], &fdv, BPF_NOEXIST) < 0)
			goto fail;
	}
	for (int i = 0; i < 2 && !err; i++)
		err = fastpath_kick(fd[i]);
	if (!err)
		return 0;
	errno = -err;
fail:
	err = -errno;
	fastpath_unlink(fp, cookie);
	for (int i = 0; i < 2; i++)
		fastpath_rcvlowat(fd[i], 1);
	return err;
}

uint64_t fastpath_bytes(const struct fastpath_pair *p, int i)
{
	struct s46_fast_val v;

	fastpath_val(p->fp, p->cookie[i], &v);
	return v.bytes;
}

static void fastpath_release(struct fastpath_pair *p, bool closing)
{
	for (int i = 0; i < 2; i++) {
		if (p->reg[i] && closing)
			ev_io_forget(p->loop, p->fd[i]);
		else if (p->reg[i])
			ev_io_del(p->loop, p->fd[i]);
		p->reg[i] = 0;
	}
	ev_timer_stop(p->loop, &p->wait);
	fastpath_unlink(p->fp, p->cookie);
}

void fastpath_stop(struct fastpath_pair *p)
{
	fastpath_release(p, false);
}

static void fastpath_finish(struct fastpath_pair *p, enum relay_result res, int err)
{
	fastpath_release(p, true);
	p->done(p, res, err, p->arg);
}

/*
 * fd[i] read a FIN: once everything the program passed on from fd[i] is in fd[1-i]'s send
 * queue, the FIN follows it. Returns 1 when passed on, 0 while bytes are on their way, or
 * -errno (bytes held out of order, or stuck for FASTPATH_STALL_MS).
 */
static int fastpath_pass_eof(struct fastpath_pair *p, int i)
{
	struct s46_fast_val v;
	uint64_t taken;
	int err;

	if ((err = fastpath_kick(p->fd[i])) < 0)
		return err;
	fastpath_val(p->fp, p->cookie[i], &v);
	if (v.held)
		return -EIO;
	if ((err = fastpath_taken(p->fd[1 - i], &taken)) < 0)
		return err;
	if (taken - p->base[1 - i] < v.bytes) {
		if (taken != p->seen[1 - i]) {
			p->seen[1 - i] = taken;
			p->moved_ms = ev_now(p->loop);
		}
		return ev_now(p->loop) - p->moved_ms > FASTPATH_STALL_MS ? -ETIMEDOUT : 0;
	}
	if (shutdown(p->fd[1 - i], SHUT_WR) < 0 && errno != ENOTCONN)
		return -errno;
	p->shut[i] = 1;
	return 1;
}

/* Passes on the EOFs that can go; finishes when both went. 0 or -errno. */
static int fastpath_progress(struct fastpath_pair *p)
{
	bool waiting = false;

	for (int i = 0; i < 2; i++) {
		int rc = p->eof[i] && !p->shut[i] ? fastpath_pass_eof(p, i) : 1;

		if (rc < 0)
			return rc;
		waiting |= rc == 0;
	}
	if (p->shut[0] && p->shut[1]) {
		fastpath_finish(p, RELAY_EOF, 0);
		return 0;
	}
	if (waiting && !ev_timer_armed(&p->wait))
		return ev_timer_start(p->loop, &p->wait, FASTPATH_DRAIN_MS);
	return 0;
}

static int fastpath_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/*
 * Only the FIN and errors wake the agent: the program takes the bytes before any reader.
 * After its FIN a socket stays registered with no interest, which epoll still reports
 * errors for (a reset while the other direction runs).
 */
static void fastpath_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct fastpath_pair *p = arg;
	int i = fd == p->fd[0] ? 0 : 1, err;

	if ((events & EV_ERROR) && (err = fastpath_sock_error(fd)) > 0) {
		fastpath_finish(p, RELAY_ERROR, err);
		return;
	}
	if (p->eof[i]) {
		/* EPOLLHUP (shut down both ways) while its bytes still go: nothing more to hear
		 * from this socket, and epoll would report it again at once. */
		ev_io_del(loop, fd);
		p->reg[i] = 0;
		return;
	}
	p->eof[i] = 1;
	p->moved_ms = ev_now(loop);
	if ((err = ev_io_mod(loop, fd, 0)) < 0 || (err = fastpath_progress(p)) < 0)
		fastpath_finish(p, RELAY_ERROR, -err);
}

static void fastpath_wait_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct fastpath_pair *p = container_of(t, struct fastpath_pair, wait);
	int err = fastpath_progress(p);

	if (err < 0)
		fastpath_finish(p, RELAY_ERROR, -err);
}

int fastpath_start(struct fastpath_pair *p, struct fastpath *fp, struct ev_loop *loop, int a, int b,
		   fastpath_done_cb *done, void *arg)
{
	struct s46_fast_val v;
	int err = 0;

	memset(p, 0, sizeof(*p));
	p->fp = fp;
	p->loop = loop;
	p->fd[0] = a;
	p->fd[1] = b;
	p->done = done;
	p->arg = arg;
	ev_timer_init(&p->wait, fastpath_wait_cb);
	for (int i = 0; i < 2 && !err; i++)
		err = fastpath_taken(p->fd[i], &p->base[i]);
	if (err || (err = fastpath_link(fp, p->fd, p->cookie)) < 0)
		return err;
	for (int i = 0; i < 2 && !err; i++) {
		fastpath_val(fp, p->cookie[i], &v);
		if (v.held)
			err = -EIO;
		else if (!(err = ev_io_add(loop, p->fd[i], EV_HUP, fastpath_io_cb, p)))
			p->reg[i] = 1;
	}
	if (err)
		fastpath_stop(p);
	return err;
}

/* One line naming the kernel: "kernel RELEASE: " and what went wrong. */
static void fastpath_why(char *why, size_t len, const char *what, int err)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	if (err)
		snprintf(why, len, "kernel %s: %s the sk_skb verdict program on a SOCKHASH: %s",
			 u.release, what, strerror(-err));
	else
		snprintf(why, len, "kernel %s: %s", u.release, what);
}

static int fastpath_load(struct fastpath *fp, char *why, size_t len)
{
	int err;

	fp->skel = s46_fast_bpf__open();
	if (!fp->skel) {
		fastpath_why(why, len, "cannot open", err = -errno);
		return err;
	}
	if ((err = s46_fast_bpf__load(fp->skel)) < 0) {
		fastpath_why(why, len, "cannot load", err);
		return err;
	}
	fp->socks_fd = bpf_map__fd(fp->skel->maps.s46_fast_socks);
	fp->pairs_fd = bpf_map__fd(fp->skel->maps.s46_fast_pairs);
	if (bpf_prog_attach(bpf_program__fd(fp->skel->progs.s46_fast_verdict), fp->socks_fd,
			    BPF_SK_SKB_STREAM_VERDICT, 0) < 0) {
		fastpath_why(why, len, "cannot attach", err = -errno);
		return err;
	}
	return 0;
}

int fastpath_new(struct fastpath **out, char *why, size_t len)
{
	struct fastpath *fp = calloc(1, sizeof(*fp));
	char found[256];
	int err;

	if (!fp)
		return -ENOMEM;
	if ((err = fastpath_load(fp, why, len)) < 0)
		goto fail;
	if ((err = fastpath_probe(fp, found, sizeof(found))) < 0) {
		fastpath_why(why, len, found, 0);
		goto fail;
	}
	*out = fp;
	return 0;
fail:
	fastpath_free(fp);
	return err;
}

void fastpath_free(struct fastpath *fp)
{
	if (!fp)
		return;
	s46_fast_bpf__destroy(fp->skel);
	free(fp);
}
