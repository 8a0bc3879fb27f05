/* srv.c — a SOCKS5 server's record, its health (failures in a row, bad time) and dialling it. */
#include "srv.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "netutil.h"

int srv_new(struct srv **out)
{
	struct srv *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	atomic_init(&s->refs, 1);
	*out = s;
	return 0;
}

int srv_new_addr(struct srv **out, const struct sockaddr *sa, const char *user, const char *pass)
{
	char name[ADDR_STRLEN];
	struct srv *s;
	int err = srv_new(&s);

	if (err)
		return err;
	memcpy(&s->addr, sa, addr_sa_len(sa));
	s->port = addr_port(sa);
	s->name = strdup(addr_format(sa, name, sizeof(name)));
	s->user = user ? strdup(user) : NULL;
	s->pass = pass ? strdup(pass) : NULL;
	if (!s->name || (user && !s->user) || (pass && !s->pass)) {
		srv_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

struct srv *srv_ref(struct srv *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void srv_free(struct srv *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->name);
	free(s->host);
	free(s->user);
	if (s->pass)
		explicit_bzero(s->pass, strlen(s->pass));
	free(s->pass);
	free(s);
}

static bool srv_streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool srv_same_place(const struct srv *a, const struct srv *b)
{
	if (a->port != b->port || !a->host != !b->host)
		return false;
	if (a->host)
		return !strcasecmp(a->host, b->host);
	return addr_equal((const struct sockaddr *)&a->addr, (const struct sockaddr *)&b->addr);
}

bool srv_same(const struct srv *a, const struct srv *b)
{
	return srv_same_place(a, b) && srv_streq(a->user, b->user) && srv_streq(a->pass, b->pass);
}

void srv_copy_health(struct srv *b, const struct srv *a)
{
	atomic_store(&b->fails, atomic_load(&a->fails));
	atomic_store(&b->bad_until, atomic_load(&a->bad_until));
	atomic_store(&b->down, atomic_load(&a->down));
}

bool srv_report(struct srv *s, bool ok, uint64_t now, unsigned fail_limit, unsigned bad_ms)
{
	if (ok) {
		atomic_store(&s->fails, 0);
		atomic_store(&s->bad_until, 0);
		atomic_store(&s->down, false);
		return false;
	}
	if ((atomic_fetch_add(&s->fails, 1) + 1) % (fail_limit ? fail_limit : 1))
		return false;
	atomic_store(&s->bad_until, now + bad_ms);
	return bad_ms > 0;
}

bool srv_is_bad(const struct srv *s, uint64_t now)
{
	return atomic_load(&s->down) || atomic_load(&s->bad_until) > now;
}

void srv_health(struct srv *s, bool ok)
{
	if (ok) {
		atomic_store(&s->fails, 0);
		atomic_store(&s->bad_until, 0);
	}
	atomic_store(&s->down, !ok);
}

bool srv_is_down(const struct srv *s)
{
	return atomic_load(&s->down);
}

void srv_conn_begin(struct srv *s)
{
	atomic_fetch_add(&s->inflight, 1);
	atomic_fetch_add(&s->total, 1);
}

void srv_conn_end(struct srv *s)
{
	atomic_fetch_sub(&s->inflight, 1);
}

unsigned srv_inflight(const struct srv *s)
{
	return atomic_load(&s->inflight);
}

uint64_t srv_total(const struct srv *s)
{
	return atomic_load(&s->total);
}

unsigned srv_failures(const struct srv *s)
{
	return atomic_load(&s->fails);
}

static int srv_connect(const struct srv *s, uint32_t mark)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->addr;
	int one = 1, fd, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The mark keeps the agent's own connections from being redirected into itself. */
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		log_debug("SO_MARK: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The pipelined handshake goes out in the SYN where the gateway's host allows it. */
	netutil_fastopen_connect(fd);
	if (connect(fd, sa, addr_sa_len(sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int srv_dial(const struct srv *s, struct ev_loop *loop, uint32_t mark, uint8_t cmd,
	     const struct socks5_addr *dst, s5client_cb *cb, void *arg, struct s5client **cl)
{
	int fd = srv_connect(s, mark), err;

	if (fd < 0)
		return fd;
	/* The handshake starts when the connect completes; it fails with the connect's error. */
	err = s5client_start(cl, loop, fd, s->user, s->pass, cmd, dst, cb, arg);
	if (!err)
		err = s5client_pipeline(*cl);
	if (err) {
		s5client_cancel(*cl);
		*cl = NULL;
		close(fd);
		return err;
	}
	return fd;
}
