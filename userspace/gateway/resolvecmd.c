/* resolvecmd.c — Tor RESOLVE (0xF0) and RESOLVE_PTR (0xF1): the answer is in BND.ADDR. */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "resolv.h"
#include "session.h"

/* Sends the successful answer and closes. */
static void resolvecmd_answer(struct session *s, const struct socks5_addr *a)
{
	uint8_t buf[SOCKS5_REPLY_MAX];

	s->rep = SOCKS5_REP_SUCCEEDED;
	session_finish_with(s, buf, socks5_build_reply_addr(buf, SOCKS5_REP_SUCCEEDED, a),
			    "resolved", 0);
}

static void resolvecmd_answer_sa(struct session *s, const struct sockaddr *sa)
{
	uint8_t buf[SOCKS5_REPLY_MAX];

	s->rep = SOCKS5_REP_SUCCEEDED;
	session_finish_with(s, buf, socks5_build_reply(buf, SOCKS5_REP_SUCCEEDED, sa), "resolved",
			    0);
}

/* Keeps the first address of the preferred family (else the first at all) until all answered. */
static void resolvecmd_resolved(void *arg, int family, int err,
				const struct sockaddr_storage *addrs, size_t n, int remaining)
{
	struct session *s = arg;

	if (n && (!s->via.sa.sa_family || family == s->w->happy.prefer))
		memcpy(&s->via, &addrs[0], addr_sa_len((const struct sockaddr *)&addrs[0]));
	if (err && (!s->err || err == ENOENT))
		s->err = err;
	if (remaining)
		return;
	s->query = NULL;
	if (!s->via.sa.sa_family) {
		session_fail(s, socks5_rep_from_errno(s->err ? s->err : ENOENT), "resolve failed",
			     s->err);
		return;
	}
	if (request_filter(s, &s->via.sa) == EACCES) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied by rule", EACCES);
		return;
	}
	resolvecmd_answer_sa(s, &s->via.sa);
}

/* RESOLVE: the name's address in BND.ADDR, preferred family first; a literal answers itself. */
void resolvecmd_start(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage ss;

	if (dst->atyp != SOCKS5_ATYP_DOMAINNAME) {
		socks5_addr_to_sockaddr(dst, &ss, NULL);
		addr_set_port((struct sockaddr *)&ss, 0);
		resolvecmd_answer_sa(s, (struct sockaddr *)&ss);
		return;
	}
	s->query = resolv_lookup(s->w->res, dst->name, resolvecmd_resolved, s);
	if (!s->query)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "resolve", ENOMEM);
}

static void resolvecmd_ptr_resolved(void *arg, int err, const char *name)
{
	struct session *s = arg;
	struct socks5_addr a = {0};

	s->query = NULL;
	if (err || socks5_addr_set_name(&a, name, 0) < 0) {
		session_fail(s, socks5_rep_from_errno(err ? err : ENOENT), "reverse lookup failed",
			     err);
		return;
	}
	resolvecmd_answer(s, &a);
}

/* RESOLVE_PTR: the address's name in BND.ADDR as a DOMAINNAME. */
void resolvecmd_ptr_start(struct session *s, struct socks5_addr *dst)
{
	struct sockaddr_storage ss;

	if (socks5_addr_to_sockaddr(dst, &ss, NULL) < 0) {
		session_fail(s, SOCKS5_REP_ATYP_NOT_SUPPORTED, "RESOLVE_PTR needs an address", 0);
		return;
	}
	s->query = resolv_reverse(s->w->res, (struct sockaddr *)&ss, resolvecmd_ptr_resolved, s);
	if (!s->query)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "reverse lookup", ENOMEM);
}
