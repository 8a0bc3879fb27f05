/* ev.h — a small epoll event loop: fd callbacks in an fd-indexed table and a timer heap. */
#ifndef S46_EV_H
#define S46_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_READ 0x1u
#define EV_WRITE 0x2u
/* Reported with EV_READ when the peer hung up or the socket has an error. */
#define EV_ERROR 0x4u
/*
 * The peer's FIN (EPOLLRDHUP) without EPOLLIN, reported as EV_HUP: for a socket whose bytes
 * the kernel moves elsewhere (sockmap), where EPOLLIN says nothing the owner can read.
 */
#define EV_HUP 0x8u

struct ev_loop;
struct ev_timer;

typedef void ev_io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg);
typedef void ev_timer_cb(struct ev_loop *loop, struct ev_timer *t);

/* Embedded in the owner's struct; container_of() gets back to it. */
struct ev_timer {
	uint64_t when_ms;
	unsigned heap_idx; /* 0 = not armed; heap positions start at 1 */
	ev_timer_cb *cb;
};

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

int ev_loop_new(struct ev_loop **out);
void ev_loop_free(struct ev_loop *loop);

/* Register fd for events (EV_READ|EV_WRITE, level-triggered). Returns 0 or -errno. */
int ev_io_add(struct ev_loop *loop, int fd, unsigned events, ev_io_cb *cb, void *arg);
int ev_io_mod(struct ev_loop *loop, int fd, unsigned events);
/* Safe from inside a callback, also for fds with events still pending in this round. */
void ev_io_del(struct ev_loop *loop, int fd);
/*
 * Like ev_io_del without the epoll_ctl, for an fd the caller closes right away
 * (close() takes it out of epoll when no other descriptor shares the file).
 */
void ev_io_forget(struct ev_loop *loop, int fd);
unsigned ev_io_events(struct ev_loop *loop, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb *cb);
/* (Re)arms t to fire once after ms milliseconds. Returns 0 or -ENOMEM. */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_idx != 0;
}

/* Milliseconds on CLOCK_MONOTONIC, cached once per loop iteration. */
uint64_t ev_now(struct ev_loop *loop);
uint64_t ev_clock_ms(void);

/* Runs until ev_stop(); returns 0 or -errno if epoll itself fails. */
int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);

#endif
