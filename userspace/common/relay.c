/* relay.c — the relay: small reads copied, bulk spliced through pipes borrowed from a pool. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Bigger pipes move more per splice() pair; pages are only allocated while
 * bytes sit in them, and an empty pipe goes back to the pool.
 */
#define RELAY_PIPE_SIZE (1024 * 1024)
#define RELAY_CHUNK RELAY_PIPE_SIZE
/*
 * Until a read fills this much, a direction copies through a stack buffer:
 * recv + send are two syscalls where splice needs two plus a pipe. Small
 * request/response traffic never touches a pipe; bulk switches to splice.
 */
#define RELAY_SMALL (16 * 1024)

struct relay_pool {
	unsigned n, max;
	int fds[]; /* pairs: read end, write end */
};

int relay_pool_new(struct relay_pool **out, unsigned max_idle)
{
	struct relay_pool *p = calloc(1, sizeof(*p) + 2 * max_idle * sizeof(int));

	if (!p)
		return -ENOMEM;
	p->max = max_idle;
	*out = p;
	return 0;
}

void relay_pool_free(struct relay_pool *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < 2 * pool->n; i++)
		close(pool->fds[i]);
	free(pool);
}

static int relay_pipe_get(struct relay_pool *pool, struct relay_dir *d)
{
	int p[2];

	if (pool && pool->n) {
		pool->n--;
		d->pipe_rd = pool->fds[2 * pool->n];
		d->pipe_wr = pool->fds[2 * pool->n + 1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* Best effort: a smaller pipe (pipe-max-size, user limits) still works. */
	fcntl(p[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
	d->pipe_rd = p[0];
	d->pipe_wr = p[1];
	return 0;
}

/* Only an empty pipe goes back to the pool; one with stranded bytes is closed. */
static void relay_pipe_put(struct relay_pool *pool, struct relay_dir *d)
{
	if (d->pipe_rd < 0)
		return;
	if (pool && d->in_pipe == 0 && pool->n < pool->max) {
		pool->fds[2 * pool->n] = d->pipe_rd;
		pool->fds[2 * pool->n + 1] = d->pipe_wr;
		pool->n++;
	} else {
		close(d->pipe_rd);
		close(d->pipe_wr);
	}
	d->pipe_rd = d->pipe_wr = -1;
}

const char *relay_result_str(enum relay_result res)
{
	switch (res) {
	case RELAY_EOF:
		return "closed";
	case RELAY_IDLE:
		return "idle timeout";
	case RELAY_ERROR:
		return "error";
	default:
		return "stopped";
	}
}

static void relay_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);

static void relay_unregister(struct relay *r, bool closing)
{
	for (int i = 0; i < 2; i++) {
		if (r->reg[i] && closing)
			ev_io_forget(r->loop, r->fd[i]);
		else if (r->reg[i])
			ev_io_del(r->loop, r->fd[i]);
		r->reg[i] = 0;
	}
}

static void relay_release(struct relay *r, bool closing)
{
	relay_unregister(r, closing);
	ev_timer_stop(r->loop, &r->idle);
	for (int i = 0; i < 2; i++) {
		relay_pipe_put(r->pool, &r->dir[i]);
		free(r->dir[i].mem);
		r->dir[i].mem = NULL;
	}
}

void relay_stop(struct relay *r)
{
	relay_release(r, false);
}

/* The owner closes both fds in the callback: the loop forgets them without epoll_ctl. */
static void relay_finish(struct relay *r, enum relay_result res, int err)
{
	relay_release(r, true);
	r->done(r, res, err, r->arg);
}

/* Direction d is blocked on its destination while bytes wait to go out. */
static int relay_dir_waiting(const struct relay *r, int d)
{
	return r->dir[d].in_pipe > 0 || r->dir[d].mem_off < r->dir[d].mem_len;
}

/*
 * An fd is read while its outgoing direction is open and not backed up, and
 * written while the incoming direction waits. An fd with no interest is
 * removed from epoll: a hung-up socket would otherwise report EPOLLHUP forever.
 */
static int relay_update(struct relay *r)
{
	for (int i = 0; i < 2; i++) {
		unsigned want = 0;
		int err;

		if (!r->dir[i].eof && !relay_dir_waiting(r, i))
			want |= EV_READ;
		if (relay_dir_waiting(r, 1 - i))
			want |= EV_WRITE;
		if (want == r->reg[i])
			continue;
		if (!want)
			ev_io_del(r->loop, r->fd[i]);
		else if (!r->reg[i])
			err = ev_io_add(r->loop, r->fd[i], want, relay_io_cb, r);
		else
			err = ev_io_mod(r->loop, r->fd[i], want);
		if (want && err < 0)
			return err;
		r->reg[i] = (uint8_t)want;
	}
	return 0;
}

/* Sends what waits in memory; returns 0 (maybe partly) or -errno. */
static int relay_flush_mem(struct relay *r, int d)
{
	struct relay_dir *dir = &r->dir[d];

	while (dir->mem_off < dir->mem_len) {
		ssize_t n = send(r->fd[1 - d], dir->mem + dir->mem_off, dir->mem_len - dir->mem_off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		dir->mem_off += (uint32_t)n;
		dir->bytes += (uint64_t)n;
		r->last_ms = ev_now(r->loop);
	}
	free(dir->mem);
	dir->mem = NULL;
	dir->mem_len = dir->mem_off = 0;
	return 0;
}

/* Keeps len bytes in memory until the destination takes them; 0 or -ENOMEM. */
static int relay_hold(struct relay_dir *dir, const void *buf, size_t len)
{
	dir->mem = malloc(len);
	if (!dir->mem)
		return -ENOMEM;
	memcpy(dir->mem, buf, len);
	dir->mem_len = (uint32_t)len;
	dir->mem_off = 0;
	return 0;
}

/* Out of descriptors (or pipe memory): the relay goes on without a pipe. */
static bool relay_no_pipe(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

/* Empties the pipe into the destination; returns 0 (maybe partly) or -errno. */
static int relay_drain(struct relay *r, int d)
{
	struct relay_dir *dir = &r->dir[d];

	while (dir->in_pipe) {
		ssize_t n = splice(dir->pipe_rd, NULL, r->fd[1 - d], NULL, dir->in_pipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		dir->in_pipe -= (uint32_t)n;
		dir->bytes += (uint64_t)n;
		r->last_ms = ev_now(r->loop);
	}
	relay_pipe_put(r->pool, dir);
	return 0;
}

/*
 * One copy through a stack buffer. Bytes the destination does not take go
 * into a pipe (an empty pipe holds far more than RELAY_SMALL), drained later.
 * Returns the bytes read (0: EOF), -EAGAIN, or -errno.
 */
static ssize_t relay_copy(struct relay *r, int d)
{
	struct relay_dir *dir = &r->dir[d];
	uint8_t buf[RELAY_SMALL];
	ssize_t n = recv(r->fd[d], buf, sizeof(buf), 0), m;
	int err;

	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (n == 0)
		return 0;
	m = send(r->fd[1 - d], buf, (size_t)n, MSG_NOSIGNAL);
	if (m < 0 && errno != EAGAIN && errno != EINTR)
		return -errno;
	if (m < 0)
		m = 0;
	dir->bytes += (uint64_t)m;
	r->last_ms = ev_now(r->loop);
	if (m == n)
		return n;
	if (dir->pipe_rd < 0 && (err = relay_pipe_get(r->pool, dir)) < 0) {
		if (!relay_no_pipe(err))
			return err;
		dir->bulk = 0;
		return (err = relay_hold(dir, buf + m, (size_t)(n - m))) < 0 ? err : n;
	}
	if (write(dir->pipe_wr, buf + m, (size_t)(n - m)) != n - m)
		return -EIO;
	dir->in_pipe += (uint32_t)(n - m);
	return n;
}

/* Moves what can move in direction d without blocking; returns 0 or -errno. */
static int relay_pump(struct relay *r, int d)
{
	struct relay_dir *dir = &r->dir[d];
	int err;

	if (dir->mem && (err = relay_flush_mem(r, d)) < 0)
		return err;
	if (dir->in_pipe && (err = relay_drain(r, d)) < 0)
		return err;
	while (!relay_dir_waiting(r, d) && !dir->eof) {
		ssize_t n;

		if (!dir->bulk) {
			n = relay_copy(r, d);
			if (n == -EAGAIN)
				break;
			if (n < 0)
				return (int)n;
			if (n == 0)
				dir->eof = 1;
			if (n == RELAY_SMALL)
				dir->bulk = 1;
			else if (n > 0)
				break; /* a short read emptied the socket */
			continue;
		}
		if (dir->pipe_rd < 0 && (err = relay_pipe_get(r->pool, dir)) < 0) {
			if (!relay_no_pipe(err))
				return err;
			dir->bulk = 0; /* copy through the stack buffer until a pipe can be had */
			continue;
		}
		n = splice(r->fd[d], NULL, dir->pipe_wr, NULL, RELAY_CHUNK,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		if (n == 0)
			dir->eof = 1;
		dir->in_pipe += (uint32_t)n;
		if ((err = relay_drain(r, d)) < 0)
			return err;
		/* A short read emptied the socket: epoll says when more comes, skip the EAGAIN. */
		if (n > 0 && n < RELAY_CHUNK)
			break;
	}
	if (dir->in_pipe == 0)
		relay_pipe_put(r->pool, dir);
	if (dir->eof && !relay_dir_waiting(r, d) && !dir->shut) {
		/*
		 * Half-close: pass the EOF on and keep the other direction running.
		 * When that one is over too, the owner's close() sends the FIN: both
		 * sockets were read to EOF, so nothing unread turns it into a reset.
		 */
		if (!r->dir[1 - d].shut && shutdown(r->fd[1 - d], SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
		dir->shut = 1;
	}
	return 0;
}

static int relay_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void relay_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct relay *r = arg;
	int i = fd == r->fd[0] ? 0 : 1;
	int err = 0;

	/* A socket that is read reports its error through recv/splice: no getsockopt needed. */
	if ((events & EV_ERROR) && !(r->reg[i] & EV_READ) && (err = relay_sock_error(fd)) > 0)
		goto fail;
	/* Reading from fd serves direction i, writing to it direction 1 - i. */
	if ((events & (EV_WRITE | EV_ERROR)) && (err = -relay_pump(r, 1 - i)) > 0)
		goto fail;
	if ((events & EV_READ) && (err = -relay_pump(r, i)) > 0)
		goto fail;
	if (r->dir[0].shut && r->dir[1].shut) {
		relay_finish(r, RELAY_EOF, 0);
		return;
	}
	if ((err = -relay_update(r)) > 0)
		goto fail;
	return;
fail:
	relay_finish(r, RELAY_ERROR, err);
}

static void relay_idle_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct relay *r = container_of(t, struct relay, idle);
	uint64_t quiet = ev_now(loop) - r->last_ms;

	/* The timer is re-armed lazily rather than on every transfer. */
	if (quiet >= r->idle_ms) {
		relay_finish(r, RELAY_IDLE, 0);
		return;
	}
	ev_timer_start(loop, &r->idle, r->idle_ms - quiet);
}

int relay_start(struct relay *r, struct ev_loop *loop, struct relay_pool *pool, int a, int b,
		const void *initial, size_t initial_len, uint32_t idle_ms, relay_done_cb *done,
		void *arg)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->pool = pool;
	r->fd[0] = a;
	r->fd[1] = b;
	r->idle_ms = idle_ms;
	r->done = done;
	r->arg = arg;
	r->last_ms = ev_now(loop);
	for (int i = 0; i < 2; i++)
		r->dir[i].pipe_rd = r->dir[i].pipe_wr = -1;
	ev_timer_init(&r->idle, relay_idle_cb);
	if (initial_len && (err = relay_hold(&r->dir[0], initial, initial_len)) < 0)
		return err;
	err = relay_update(r);
	if (!err && idle_ms)
		err = ev_timer_start(loop, &r->idle, idle_ms);
	if (err)
		relay_stop(r);
	return err;
}
