/* netmon.c — rtnetlink (libmnl) dump and subscription of addresses and routes, one reader-locked
 * table. */
#include "netmon.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "prefix.h"

/* Route dumps of a full table come in many page-sized parts; this holds several. */
#define NETMON_BUF 65536

struct netmon {
	pthread_rwlock_t lock; /* guards t */
	struct netmon_table t;
	struct mnl_socket *sub; /* subscribed to the address and route groups */
	int stop_fd;		/* eventfd: netmon_free's wakeup */
	pthread_t tid;
	bool running;
};

/* ---- the table ---- */

static bool netmon_addr_same(const struct netmon_addr *a, const struct netmon_addr *b)
{
	return a->family == b->family && a->ifindex == b->ifindex && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool netmon_route_same(const struct netmon_route *a, const struct netmon_route *b)
{
	return a->family == b->family && a->table == b->table && a->plen == b->plen &&
	       a->oif == b->oif && a->priority == b->priority && !memcmp(a->dst, b->dst, 16);
}

/* Upsert or delete one element of a vector of fixed-size items; returns 1 if it changed. */
static int netmon_vec_apply(void **v, size_t *n, size_t *cap, size_t size, const void *item,
			    bool del, bool (*same)(const void *, const void *))
{
	char *base = *v;
	size_t i;

	for (i = 0; i < *n && !same(base + i * size, item); i++)
		;
	if (del) {
		if (i == *n)
			return 0;
		memmove(base + i * size, base + (i + 1) * size, (*n - i - 1) * size);
		(*n)--;
		return 1;
	}
	if (i < *n) {
		if (!memcmp(base + i * size, item, size))
			return 0;
		memcpy(base + i * size, item, size);
		return 1;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *nv = realloc(*v, nc * size);

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
		base = nv;
	}
	memcpy(base + (*n)++ * size, item, size);
	return 1;
}

static bool netmon_addr_same_v(const void *a, const void *b)
{
	return netmon_addr_same(a, b);
}

static bool netmon_route_same_v(const void *a, const void *b)
{
	return netmon_route_same(a, b);
}

struct netmon_attrs {
	const struct nlattr *tb[IFA_MAX > RTA_MAX ? IFA_MAX + 1 : RTA_MAX + 1];
	int max;
};

static int netmon_attr_cb(const struct nlattr *attr, void *data)
{
	struct netmon_attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Copies an address attribute of the family's length; -EBADMSG if it is not that long. */
static int netmon_attr_addr(const struct nlattr *attr, int family, uint8_t out[16])
{
	size_t len = family == AF_INET ? 4 : 16;

	if (mnl_attr_get_payload_len(attr) != len)
		return -EBADMSG;
	memcpy(out, mnl_attr_get_payload(attr), len);
	return 0;
}

static int netmon_apply_addr(struct netmon_table *t, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct netmon_attrs at = {.max = IFA_MAX};
	struct netmon_addr a = {0};
	const struct nlattr *ad;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*ifa), netmon_attr_cb, &at) < 0)
		return -EBADMSG;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links. */
	ad = at.tb[IFA_LOCAL] ? at.tb[IFA_LOCAL] : at.tb[IFA_ADDRESS];
	if (!ad || netmon_attr_addr(ad, ifa->ifa_family, a.addr) < 0)
		return -EBADMSG;
	a.family = ifa->ifa_family;
	a.ifindex = (int)ifa->ifa_index;
	a.plen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.flags = ifa->ifa_flags;
	if (at.tb[IFA_FLAGS] && mnl_attr_get_payload_len(at.tb[IFA_FLAGS]) == 4)
		a.flags = mnl_attr_get_u32(at.tb[IFA_FLAGS]);
	return netmon_vec_apply((void **)&t->addrs, &t->naddrs, &t->caddrs, sizeof(a), &a,
				nlh->nlmsg_type == RTM_DELADDR, netmon_addr_same_v);
}

static int netmon_apply_route(struct netmon_table *t, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct netmon_attrs at = {.max = RTA_MAX};
	struct netmon_route r = {0};

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	if (rtm->rtm_dst_len > (rtm->rtm_family == AF_INET ? 32 : 128))
		return -EBADMSG;
	if (mnl_attr_parse(nlh, sizeof(*rtm), netmon_attr_cb, &at) < 0)
		return -EBADMSG;
	r.family = rtm->rtm_family;
	r.plen = rtm->rtm_dst_len;
	r.type = rtm->rtm_type;
	r.table = rtm->rtm_table;
	if (at.tb[RTA_TABLE] && mnl_attr_get_payload_len(at.tb[RTA_TABLE]) == 4)
		r.table = mnl_attr_get_u32(at.tb[RTA_TABLE]);
	if (at.tb[RTA_DST] && netmon_attr_addr(at.tb[RTA_DST], r.family, r.dst) < 0)
		return -EBADMSG;
	if (at.tb[RTA_OIF] && mnl_attr_get_payload_len(at.tb[RTA_OIF]) == 4)
		r.oif = (int)mnl_attr_get_u32(at.tb[RTA_OIF]);
	if (at.tb[RTA_PRIORITY] && mnl_attr_get_payload_len(at.tb[RTA_PRIORITY]) == 4)
		r.priority = mnl_attr_get_u32(at.tb[RTA_PRIORITY]);
	return netmon_vec_apply((void **)&t->routes, &t->nroutes, &t->croutes, sizeof(r), &r,
				nlh->nlmsg_type == RTM_DELROUTE, netmon_route_same_v);
}

int netmon_table_apply(struct netmon_table *t, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_len < sizeof(*nlh))
		return -EBADMSG;
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return netmon_apply_addr(t, nlh);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return netmon_apply_route(t, nlh);
	default:
		return 0;
	}
}

void netmon_table_clear(struct netmon_table *t)
{
	free(t->addrs);
	free(t->routes);
	memset(t, 0, sizeof(*t));
}

/* The best route of each table seen so far (few tables exist; more are not tracked). */
#define NETMON_TABLES 16

bool netmon_table_route(const struct netmon_table *t, const struct sockaddr *dst)
{
	const struct netmon_route *best[NETMON_TABLES] = {0};
	uint8_t d[16];
	int fam = prefix_sa_bytes(dst, d);
	unsigned nt = 0, k;

	/* Per table the longest prefix (then the lowest metric) decides; any table may route it. */
	for (size_t i = 0; fam && i < t->nroutes; i++) {
		const struct netmon_route *r = &t->routes[i];

		if (r->family != fam || !prefix_bits_equal(r->dst, d, r->plen))
			continue;
		for (k = 0; k < nt && best[k]->table != r->table; k++)
			;
		if (k == nt) {
			if (nt == NETMON_TABLES)
				return true; /* unusual policy routing: do not second-guess it */
			best[nt++] = r;
		} else if (r->plen > best[k]->plen ||
			   (r->plen == best[k]->plen && r->priority < best[k]->priority)) {
			best[k] = r;
		}
	}
	/* Blackhole, unreachable, prohibit and throw are the routes that say "no". */
	for (k = 0; k < nt; k++)
		if (best[k]->type == RTN_UNICAST || best[k]->type == RTN_LOCAL ||
		    best[k]->type == RTN_BROADCAST || best[k]->type == RTN_MULTICAST ||
		    best[k]->type == RTN_ANYCAST)
			return true;
	return false;
}

bool netmon_table_local(const struct netmon_table *t, const struct sockaddr *dst)
{
	uint8_t d[16];
	int fam = prefix_sa_bytes(dst, d);
	size_t len = fam == AF_INET ? 4 : 16;

	for (size_t i = 0; fam && i < t->naddrs; i++)
		if (t->addrs[i].family == fam && !memcmp(t->addrs[i].addr, d, len))
			return true;
	/* The kernel's own answer: 127.0.0.0/8 and AnyIP ranges (`ip route add local ...`). */
	for (size_t i = 0; fam && i < t->nroutes; i++) {
		const struct netmon_route *r = &t->routes[i];

		if (r->family == fam && r->type == RTN_LOCAL &&
		    prefix_bits_equal(r->dst, d, r->plen))
			return true;
	}
	return false;
}

bool netmon_addr_usable(const struct netmon_addr *a)
{
	return a->scope == RT_SCOPE_UNIVERSE &&
	       !(a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED));
}

/* ---- the monitor ---- */

static void netmon_log_change(const struct nlmsghdr *nlh)
{
	struct netmon_table one = {0};
	char ip[ADDR_STRLEN], ifname[IF_NAMESIZE] = "?";
	struct sockaddr_storage ss = {0};
	bool del = nlh->nlmsg_type == RTM_DELADDR || nlh->nlmsg_type == RTM_DELROUTE;
	const uint8_t *bytes;
	int family, ifindex;
	unsigned plen;

	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	int ret;

	if (!copy)
		return;
	/* Parsed as an addition into an empty table, so that removals are described too. */
	memcpy(copy, nlh, nlh->nlmsg_len);
	copy->nlmsg_type = nlh->nlmsg_type == RTM_DELADDR    ? RTM_NEWADDR
			   : nlh->nlmsg_type == RTM_DELROUTE ? RTM_NEWROUTE
							     : nlh->nlmsg_type;
	ret = netmon_table_apply(&one, copy);
	free(copy);
	if (ret <= 0)
		return;
	if (one.naddrs) {
		family = one.addrs[0].family;
		bytes = one.addrs[0].addr;
		plen = one.addrs[0].plen;
		ifindex = one.addrs[0].ifindex;
	} else {
		family = one.routes[0].family;
		bytes = one.routes[0].dst;
		plen = one.routes[0].plen;
		ifindex = one.routes[0].oif;
	}
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, bytes, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, bytes, 16);
	if (ifindex)
		if_indextoname((unsigned)ifindex, ifname);
	log_info("netmon: %s %s/%u %s dev %s%s", one.naddrs ? "address" : "route",
		 addr_format_ip((struct sockaddr *)&ss, ip, sizeof(ip)), plen,
		 del ? "removed" : "added", ifname,
		 one.naddrs && !netmon_addr_usable(&one.addrs[0]) && !del ? " (not usable yet)"
									  : "");
	netmon_table_clear(&one);
}

struct netmon_dump_ctx {
	struct netmon_table *t;
	int err;
};

static int netmon_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmon_dump_ctx *c = data;
	int ret = netmon_table_apply(c->t, nlh);

	if (ret == -ENOMEM)
		c->err = ret;
	return MNL_CB_OK;
}

static int netmon_dump_one(struct mnl_socket *nl, uint16_t type, uint32_t seq,
			   struct netmon_table *t, char *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct netmon_dump_ctx c = {.t = t};
	struct rtgenmsg *g;
	uint32_t portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = mnl_socket_recvfrom(nl, buf, NETMON_BUF)) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, netmon_dump_cb, &c);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : c.err;
	}
	return n < 0 ? -errno : -EIO;
}

/* A fresh table of everything there is now. */
static int netmon_dump(struct netmon_table *t)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	char *buf = malloc(NETMON_BUF);
	uint32_t seq = (uint32_t)time(NULL);
	int err = -ENOMEM;

	if (!nl || !buf)
		goto out;
	err = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (!err)
		err = netmon_dump_one(nl, RTM_GETADDR, seq, t, buf);
	if (!err)
		err = netmon_dump_one(nl, RTM_GETROUTE, seq + 1, t, buf);
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

/* Events were lost (ENOBUFS): start over from a full dump. */
static void netmon_resync(struct netmon *nm)
{
	struct netmon_table fresh = {0}, old;
	int err = netmon_dump(&fresh);

	if (err < 0) {
		log_warnx("netmon: resync failed: %s", strerror(-err));
		netmon_table_clear(&fresh);
		return;
	}
	pthread_rwlock_wrlock(&nm->lock);
	old = nm->t;
	nm->t = fresh;
	pthread_rwlock_unlock(&nm->lock);
	netmon_table_clear(&old);
	log_info("netmon: events were lost; tables dumped again");
}

static int netmon_event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmon *nm = data;
	int ret;

	pthread_rwlock_wrlock(&nm->lock);
	ret = netmon_table_apply(&nm->t, nlh);
	pthread_rwlock_unlock(&nm->lock);
	if (ret > 0)
		netmon_log_change(nlh);
	return MNL_CB_OK;
}

static void *netmon_thread(void *arg)
{
	struct netmon *nm = arg;
	char *buf = malloc(NETMON_BUF);
	struct pollfd p[2] = {{.fd = mnl_socket_get_fd(nm->sub), .events = POLLIN},
			      {.fd = nm->stop_fd, .events = POLLIN}};

	while (buf) {
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		n = mnl_socket_recvfrom(nm->sub, buf, NETMON_BUF);
		if (n < 0 && errno == ENOBUFS)
			netmon_resync(nm);
		else if (n > 0)
			mnl_cb_run(buf, (size_t)n, 0, 0, netmon_event_cb, nm);
	}
	free(buf);
	return NULL;
}

int netmon_new(struct netmon **out)
{
	struct netmon *nm = calloc(1, sizeof(*nm));
	unsigned groups =
	    RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int err;

	if (!nm)
		return -ENOMEM;
	pthread_rwlock_init(&nm->lock, NULL);
	nm->stop_fd = eventfd(0, EFD_CLOEXEC);
	nm->sub = mnl_socket_open(NETLINK_ROUTE);
	/* Subscribed before the dump: a change in between arrives as an event, not lost. */
	if (nm->stop_fd < 0 || !nm->sub ||
	    mnl_socket_bind(nm->sub, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	err = netmon_dump(&nm->t);
	if (err < 0)
		goto fail;
	err = -pthread_create(&nm->tid, NULL, netmon_thread, nm);
	if (err < 0)
		goto fail;
	nm->running = true;
	*out = nm;
	return 0;
fail:
	netmon_free(nm);
	return err;
}

void netmon_free(struct netmon *nm)
{
	uint64_t one = 1;

	if (!nm)
		return;
	if (nm->running) {
		if (write(nm->stop_fd, &one, sizeof(one)) < 0)
			log_warn("netmon: eventfd");
		pthread_join(nm->tid, NULL);
	}
	if (nm->sub)
		mnl_socket_close(nm->sub);
	if (nm->stop_fd >= 0)
		close(nm->stop_fd);
	netmon_table_clear(&nm->t);
	pthread_rwlock_destroy(&nm->lock);
	free(nm);
}

bool netmon_has_route(struct netmon *nm, const struct sockaddr *dst)
{
	bool ok;

	if (!nm)
		return true;
	pthread_rwlock_rdlock(&nm->lock);
	ok = netmon_table_route(&nm->t, dst);
	pthread_rwlock_unlock(&nm->lock);
	return ok;
}

bool netmon_is_local(struct netmon *nm, const struct sockaddr *dst)
{
	bool local;

	if (!nm)
		return false;
	pthread_rwlock_rdlock(&nm->lock);
	local = netmon_table_local(&nm->t, dst);
	pthread_rwlock_unlock(&nm->lock);
	return local;
}

/* A route that can take traffic off the host: not the local table, not link-local. */
static bool netmon_route_leaves(const struct netmon_route *r)
{
	if (r->type != RTN_UNICAST || r->table == RT_TABLE_LOCAL)
		return false;
	return !(r->family == AF_INET6 && r->dst[0] == 0xfe && (r->dst[1] & 0xc0) == 0x80 &&
		 r->plen >= 10);
}

bool netmon_family_usable(struct netmon *nm, int family)
{
	bool addr = false, route = false;

	if (!nm)
		return true;
	pthread_rwlock_rdlock(&nm->lock);
	for (size_t i = 0; i < nm->t.naddrs && !addr; i++)
		addr = nm->t.addrs[i].family == family && netmon_addr_usable(&nm->t.addrs[i]);
	for (size_t i = 0; i < nm->t.nroutes && !route; i++)
		route = nm->t.routes[i].family == family && netmon_route_leaves(&nm->t.routes[i]);
	pthread_rwlock_unlock(&nm->lock);
	return addr && route;
}
