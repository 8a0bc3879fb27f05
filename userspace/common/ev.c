/* ev.c — the epoll backend, the fd table and the timer min-heap behind ev.h. */
#include "ev.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EV_BATCH 256

struct ev_slot {
	ev_io_cb *cb;
	void *arg;
	unsigned events;
	unsigned gen; /* bumped on del so stale events of this round are skipped */
};

struct ev_loop {
	int epfd;
	bool stop;
	uint64_t now;
	struct ev_slot *slots;
	int nslots;
	struct ev_timer **heap; /* 1-based min-heap on when_ms */
	unsigned heap_len, heap_cap;
};

uint64_t ev_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ev_loop_new(struct ev_loop **out)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	int err;

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = -errno;
		free(loop);
		return err;
	}
	loop->now = ev_clock_ms();
	*out = loop;
	return 0;
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop->slots);
	free(loop->heap);
	free(loop);
}

static int ev_slots_reserve(struct ev_loop *loop, int fd)
{
	struct ev_slot *s;
	int n;

	if (fd < loop->nslots)
		return 0;
	n = loop->nslots ? loop->nslots : 64;
	while (n <= fd)
		n *= 2;
	s = realloc(loop->slots, (size_t)n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + loop->nslots, 0, (size_t)(n - loop->nslots) * sizeof(*s));
	loop->slots = s;
	loop->nslots = n;
	return 0;
}

static uint32_t ev_to_epoll(unsigned events)
{
	return (events & EV_READ ? EPOLLIN | EPOLLRDHUP : 0) | (events & EV_WRITE ? EPOLLOUT : 0) |
	       (events & EV_HUP ? EPOLLRDHUP : 0);
}

int ev_io_add(struct ev_loop *loop, int fd, unsigned events, ev_io_cb *cb, void *arg)
{
	struct epoll_event ee = {.events = ev_to_epoll(events), .data.fd = fd};
	int err;

	if (fd < 0)
		return -EBADF;
	err = ev_slots_reserve(loop, fd);
	if (err)
		return err;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
		return -errno;
	loop->slots[fd].cb = cb;
	loop->slots[fd].arg = arg;
	loop->slots[fd].events = events;
	return 0;
}

int ev_io_mod(struct ev_loop *loop, int fd, unsigned events)
{
	struct epoll_event ee = {.events = ev_to_epoll(events), .data.fd = fd};

	if (fd < 0 || fd >= loop->nslots || !loop->slots[fd].cb)
		return -ENOENT;
	if (loop->slots[fd].events == events)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
		return -errno;
	loop->slots[fd].events = events;
	return 0;
}

void ev_io_forget(struct ev_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nslots || !loop->slots[fd].cb)
		return;
	loop->slots[fd].cb = NULL;
	loop->slots[fd].arg = NULL;
	loop->slots[fd].events = 0;
	loop->slots[fd].gen++;
}

void ev_io_del(struct ev_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nslots || !loop->slots[fd].cb)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->slots[fd].cb = NULL;
	loop->slots[fd].arg = NULL;
	loop->slots[fd].events = 0;
	loop->slots[fd].gen++;
}

unsigned ev_io_events(struct ev_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nslots)
		return 0;
	return loop->slots[fd].events;
}

/* ---- timers: a binary min-heap of armed timers, index kept in each timer ---- */

static void ev_heap_set(struct ev_loop *loop, unsigned i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void ev_heap_up(struct ev_loop *loop, unsigned i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 1 && loop->heap[i / 2]->when_ms > t->when_ms) {
		ev_heap_set(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	ev_heap_set(loop, i, t);
}

static void ev_heap_down(struct ev_loop *loop, unsigned i)
{
	struct ev_timer *t = loop->heap[i];

	for (;;) {
		unsigned c = 2 * i;

		if (c > loop->heap_len)
			break;
		if (c + 1 <= loop->heap_len && loop->heap[c + 1]->when_ms < loop->heap[c]->when_ms)
			c++;
		if (loop->heap[c]->when_ms >= t->when_ms)
			break;
		ev_heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	ev_heap_set(loop, i, t);
}

void ev_timer_init(struct ev_timer *t, ev_timer_cb *cb)
{
	t->when_ms = 0;
	t->heap_idx = 0;
	t->cb = cb;
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	unsigned i = t->heap_idx;
	struct ev_timer *last;

	if (!i)
		return;
	t->heap_idx = 0;
	last = loop->heap[loop->heap_len--];
	if (last == t)
		return;
	ev_heap_set(loop, i, last);
	ev_heap_up(loop, i);
	ev_heap_down(loop, last->heap_idx);
}

static int ev_heap_grow(struct ev_loop *loop)
{
	unsigned cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
	struct ev_timer **h = realloc(loop->heap, cap * sizeof(*h));

	if (!h)
		return -ENOMEM;
	loop->heap = h;
	loop->heap_cap = cap;
	return 0;
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t ms)
{
	ev_timer_stop(loop, t);
	if (loop->heap_len + 1 >= loop->heap_cap && ev_heap_grow(loop) < 0)
		return -ENOMEM;
	t->when_ms = loop->now + ms;
	loop->heap_len++;
	ev_heap_set(loop, loop->heap_len, t);
	ev_heap_up(loop, loop->heap_len);
	return 0;
}

uint64_t ev_now(struct ev_loop *loop)
{
	return loop->now;
}

static int ev_next_timeout(struct ev_loop *loop)
{
	uint64_t when;

	if (!loop->heap_len)
		return -1;
	when = loop->heap[1]->when_ms;
	if (when <= loop->now)
		return 0;
	return when - loop->now > 60000 ? 60000 : (int)(when - loop->now);
}

static void ev_run_timers(struct ev_loop *loop)
{
	while (loop->heap_len && loop->heap[1]->when_ms <= loop->now && !loop->stop) {
		struct ev_timer *t = loop->heap[1];

		ev_timer_stop(loop, t);
		t->cb(loop, t);
	}
}

static void ev_dispatch(struct ev_loop *loop, struct epoll_event *evs, int n)
{
	unsigned gens[EV_BATCH];

	/* A callback may delete (and a new accept reuse) an fd later in this batch. */
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		gens[i] = fd < loop->nslots ? loop->slots[fd].gen : 0;
	}
	for (int i = 0; i < n && !loop->stop; i++) {
		int fd = evs[i].data.fd;
		uint32_t e = evs[i].events;
		unsigned got = 0;
		struct ev_slot *s;

		if (fd >= loop->nslots)
			continue;
		s = &loop->slots[fd];
		if (!s->cb || s->gen != gens[i])
			continue;
		if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			got |= EV_READ;
		if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			got |= EV_WRITE;
		if (e & (EPOLLHUP | EPOLLERR))
			got |= EV_ERROR;
		if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			got |= EV_HUP;
		got &= s->events | EV_ERROR;
		if (got)
			s->cb(loop, fd, got, s->arg);
	}
}

int ev_run(struct ev_loop *loop)
{
	struct epoll_event evs[EV_BATCH];

	loop->stop = false;
	while (!loop->stop) {
		int n;

		loop->now = ev_clock_ms();
		n = epoll_wait(loop->epfd, evs, EV_BATCH, ev_next_timeout(loop));
		if (n < 0 && errno != EINTR)
			return -errno;
		loop->now = ev_clock_ms();
		if (n > 0)
			ev_dispatch(loop, evs, n);
		ev_run_timers(loop);
	}
	return 0;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
