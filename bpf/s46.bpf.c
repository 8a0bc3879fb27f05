/* s46.bpf.c — cgroup programs steering connects and DNS of attached cgroups into the agent. */
#include "s46.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Shared worker of connect4 and connect6 once the address is in v4-mapped form. */
static __always_inline int s46_connect(struct bpf_sock_addr *ctx, __u32 a[4], __u8 family,
				       int *kind, int *slot)
{
	__be16 port = (__be16)ctx->user_port;
	int deny;

	*slot = 0;
	*kind = s46_classify(ctx->type, a, port, &deny);
	if (deny) {
		s46_count(S46_STAT_UDP_DENIED);
		return S46_DENY;
	}
	/* No responder (the agent is gone): the program's own server gets the query. */
	if (*kind == S46_KIND_DNS && !s46_dns_alive(ctx, !s46_is_mapped(a)))
		*kind = S46_KIND_NONE;
	if (*kind == S46_KIND_NONE) {
		/* Already steered by this agent's program on a nested cgroup (a unit opted in
		 * inside an attached slice): the record is that program's, not stale. */
		if (!s46_is_agent_dst(a, port))
			s46_forget(ctx);
		return S46_ALLOW;
	}
	/* Connected UDP to a destination the forwarder cannot be told of has nowhere to go. */
	if (*kind == S46_KIND_UDP && (*slot = s46_udp_slot_of(a, port)) < 0)
		return S46_DENY;
	/* Without a record the agent could not forward it (nor getpeername show the original):
	 * a TCP or DNS connect is left alone, a UDP one refused. */
	if (s46_remember(ctx, a, port, *kind, family)) {
		if (*kind == S46_KIND_UDP)
			return S46_DENY;
		*kind = S46_KIND_NONE;
	} else {
		if (*kind == S46_KIND_UDP)
			s46_mark_udp(ctx);
		s46_count(*kind == S46_KIND_PROXY ? S46_STAT_TCP_REDIRECT
			  : *kind == S46_KIND_UDP ? S46_STAT_UDP_STEERED
						  : S46_STAT_DNS_CONNECT);
	}
	return S46_ALLOW;
}

static __always_inline __u32 s46_agent_port(int kind)
{
	if (kind == S46_KIND_UDP)
		return s46_cfg.udp_port;
	return kind == S46_KIND_PROXY ? s46_cfg.proxy_port : s46_cfg.dns_port;
}

/* The agent's loopback address (host order) for what is steered. */
static __always_inline __u32 s46_agent_ip4(int kind, int slot)
{
	return kind == S46_KIND_UDP ? s46_udp_addr(slot) : S46_LO4;
}

SEC("cgroup/connect4")
int s46_connect4(struct bpf_sock_addr *ctx)
{
	__u32 a[4];
	int kind, ret, slot;

	if (s46_exempt(ctx))
		return S46_ALLOW;
	s46_mapped(a, ctx->user_ip4);
	ret = s46_connect(ctx, a, AF_INET, &kind, &slot);
	if (ret == S46_ALLOW && kind != S46_KIND_NONE) {
		ctx->user_ip4 = bpf_htonl(s46_agent_ip4(kind, slot));
		ctx->user_port = s46_agent_port(kind);
	}
	return ret;
}

/* An AF_INET6 socket connecting to ::ffff:a.b.c.d runs only this hook; it reaches the
 * agent's IPv4 listener through ::ffff:127.0.0.1. */
SEC("cgroup/connect6")
int s46_connect6(struct bpf_sock_addr *ctx)
{
	__u32 a[4];
	int kind, ret, slot;

	if (s46_exempt(ctx))
		return S46_ALLOW;
	s46_ip6_get(ctx, a);
	ret = s46_connect(ctx, a, AF_INET6, &kind, &slot);
	if (ret != S46_ALLOW || kind == S46_KIND_NONE)
		return ret;
	if (kind == S46_KIND_UDP && !s46_is_mapped(a)) {
		s46_udp_addr6(a, slot);
		s46_ip6_set(ctx, a);
		ctx->user_port = s46_cfg.udp_port;
		return ret;
	}
	if (s46_is_mapped(a)) {
		s46_mapped(a, bpf_htonl(s46_agent_ip4(kind, slot)));
	} else {
		a[0] = a[1] = a[2] = 0;
		a[3] = bpf_htonl(1);
	}
	s46_ip6_set(ctx, a);
	ctx->user_port = s46_agent_port(kind);
	return ret;
}

/* Unconnected UDP: remembers the server asked so that recvmsg can show the reply as
 * coming from it. Returns 1 when the datagram goes to the agent's responder. */
static __always_inline int s46_sendmsg(struct bpf_sock_addr *ctx, const __u32 a[4], __u8 family,
				       int *verdict)
{
	__be16 port = (__be16)ctx->user_port;
	struct s46_sk_val *v;
	int deny, kind;

	*verdict = S46_ALLOW;
	kind = s46_classify(ctx->type, a, port, &deny);
	if (deny) {
		s46_count(S46_STAT_UDP_DENIED);
		*verdict = S46_DENY;
		return 0;
	}
	if (kind == S46_KIND_UDP)
		return 0;
	if (kind != S46_KIND_DNS || !s46_dns_alive(ctx, !s46_is_mapped(a)))
		return 0;
	v = s46_sk_get(ctx, 1);
	if (!v) {
		s46_count(S46_STAT_ERRORS);
		return 0;
	}
	s46_dst_set(&v->dns, a, port, S46_KIND_DNS, family);
	s46_count(S46_STAT_DNS_SENDMSG);
	return 1;
}

/* A v6 socket sending to a v4-mapped address runs this hook, not sendmsg6. */
SEC("cgroup/sendmsg4")
int s46_sendmsg4(struct bpf_sock_addr *ctx)
{
	__u32 a[4];
	int verdict, slot;

	if (s46_exempt(ctx))
		return S46_ALLOW;
	s46_mapped(a, ctx->user_ip4);
	/* UDP for the forwarder: the slot's address tells it where the datagram was going. */
	if (s46_classify(ctx->type, a, (__be16)ctx->user_port, &verdict) == S46_KIND_UDP) {
		slot = s46_udp_slot_of(a, (__be16)ctx->user_port);
		if (slot < 0)
			return S46_DENY;
		ctx->user_ip4 = bpf_htonl(s46_udp_addr(slot));
		ctx->user_port = s46_cfg.udp_port;
		s46_mark_udp(ctx);
		s46_count(S46_STAT_UDP_STEERED);
		return S46_ALLOW;
	}
	if (s46_sendmsg(ctx, a, AF_INET, &verdict)) {
		ctx->user_ip4 = bpf_htonl(S46_LO4);
		ctx->user_port = s46_cfg.dns_port;
	}
	return verdict;
}

SEC("cgroup/sendmsg6")
int s46_sendmsg6(struct bpf_sock_addr *ctx)
{
	__u32 a[4];
	int verdict, slot;

	if (s46_exempt(ctx))
		return S46_ALLOW;
	s46_ip6_get(ctx, a);
	/* Rewriting to a mapped address here fails (ENOTSUPP); mapped sends run sendmsg4. */
	if (s46_is_mapped(a))
		return S46_ALLOW;
	if (s46_classify(ctx->type, a, (__be16)ctx->user_port, &verdict) == S46_KIND_UDP) {
		slot = s46_udp_slot_of(a, (__be16)ctx->user_port);
		if (slot < 0)
			return S46_DENY;
		s46_udp_addr6(a, slot);
		s46_ip6_set(ctx, a);
		ctx->user_port = s46_cfg.udp_port;
		s46_mark_udp(ctx);
		s46_count(S46_STAT_UDP_STEERED);
		return S46_ALLOW;
	}
	if (s46_sendmsg(ctx, a, AF_INET6, &verdict)) {
		a[0] = a[1] = a[2] = 0;
		a[3] = bpf_htonl(1);
		s46_ip6_set(ctx, a);
		ctx->user_port = s46_cfg.dns_port;
	}
	return verdict;
}

/* The DNS server a reply from the agent's responder must appear to come from: the connect
 * target of a connected socket, else the last server an unconnected send asked. */
static __always_inline const struct s46_dst *s46_dns_origin(struct bpf_sock_addr *ctx)
{
	struct s46_sk_val *v = s46_sk_get(ctx, 0);

	if (!v)
		return NULL;
	if (v->conn.kind == S46_KIND_DNS)
		return &v->conn;
	if (v->dns.kind == S46_KIND_DNS)
		return &v->dns;
	return NULL;
}

/* A reply from the forwarder: its source (slot address) becomes the original destination. */
static __always_inline const struct s46_dst *s46_udp_origin(struct bpf_sock_addr *ctx, int slot)
{
	const struct s46_dst *d;
	__u32 n;

	if (slot < 0 || !s46_served(ctx))
		return NULL;
	n = (__u32)slot;
	d = bpf_map_lookup_elem(&s46_udp_dst, &n);
	if (!d || d->kind != S46_KIND_UDP)
		return NULL;
	s46_count(S46_STAT_UDP_RECVMSG);
	return d;
}

SEC("cgroup/recvmsg4")
int s46_recvmsg4(struct bpf_sock_addr *ctx)
{
	const struct s46_dst *d;
	__u32 a[4];

	d = s46_udp_origin(ctx, s46_udp_slot_from(ctx->user_ip4, ctx->user_port));
	if (d) {
		__builtin_memcpy(a, d->addr, 16);
		ctx->user_ip4 = a[3];
		ctx->user_port = d->port;
		return 1;
	}
	if (ctx->user_ip4 != bpf_htonl(S46_LO4) || ctx->user_port != s46_cfg.dns_port)
		return 1;
	if (!s46_served(ctx))
		return 1;
	d = s46_dns_origin(ctx);
	if (!d)
		return 1;
	__builtin_memcpy(a, d->addr, 16);
	if (!s46_is_mapped(a))
		return 1;
	ctx->user_ip4 = a[3];
	ctx->user_port = d->port;
	s46_count(S46_STAT_DNS_RECVMSG);
	return 1;
}

/* A dual-stack socket receiving an IPv4 datagram runs this hook with the v4-mapped source
 * (::ffff:127.0.0.1), so both loopback forms are recognised. */
SEC("cgroup/recvmsg6")
int s46_recvmsg6(struct bpf_sock_addr *ctx)
{
	const struct s46_dst *d;
	__u32 a[4], w2, w3;

	s46_ip6_get(ctx, a);
	w2 = a[2];
	w3 = a[3];
	d = NULL;
	if (s46_is_mapped(a))
		d = s46_udp_origin(ctx, s46_udp_slot_from(w3, ctx->user_port));
	else if (s46_is_udp_net6(a) && s46_cfg.udp_port && ctx->user_port == s46_cfg.udp_port)
		d = s46_udp_origin(ctx, (int)(bpf_ntohl(w3) & 0xffff));
	if (d) {
		s46_ip6_show(ctx, d);
		return 1;
	}
	if (a[0] || a[1] || ctx->user_port != s46_cfg.dns_port)
		return 1;
	if (!(w2 == 0 && w3 == bpf_htonl(1)) &&
	    !(w2 == bpf_htonl(0xffff) && w3 == bpf_htonl(S46_LO4)))
		return 1;
	if (!s46_served(ctx))
		return 1;
	d = s46_dns_origin(ctx);
	if (!d)
		return 1;
	s46_ip6_show(ctx, d);
	s46_count(S46_STAT_DNS_RECVMSG);
	return 1;
}

/* getpeername (and accept) must return 1; they show the address the program connected to. */
SEC("cgroup/getpeername4")
int s46_getpeername4(struct bpf_sock_addr *ctx)
{
	struct s46_sk_val *v = s46_sk_get(ctx, 0);
	__u32 a[4];

	if (!v || v->conn.kind == S46_KIND_NONE)
		return 1;
	__builtin_memcpy(a, v->conn.addr, 16);
	if (!s46_is_mapped(a))
		return 1;
	ctx->user_ip4 = a[3];
	ctx->user_port = v->conn.port;
	return 1;
}

SEC("cgroup/getpeername6")
int s46_getpeername6(struct bpf_sock_addr *ctx)
{
	struct s46_sk_val *v = s46_sk_get(ctx, 0);

	if (!v || v->conn.kind == S46_KIND_NONE || v->conn.family != AF_INET6)
		return 1;
	s46_ip6_show(ctx, &v->conn);
	return 1;
}

/* The client end of a connection as sock_ops sees it, in the agent's key form. */
static __always_inline void s46_conn_key_of(struct bpf_sock_ops *skops, struct s46_conn_key *k,
					    __u64 netns_cookie)
{
	__u32 a[4];

	/* The barriers keep clang from merging the two branches' loads into one load through a
	 * computed context pointer, which the verifier rejects. */
	if (skops->family == AF_INET) {
		s46_mapped(a, skops->local_ip4);
		asm volatile("" ::: "memory");
	} else {
		a[0] = skops->local_ip6[0];
		a[1] = skops->local_ip6[1];
		a[2] = skops->local_ip6[2];
		a[3] = skops->local_ip6[3];
		asm volatile("" ::: "memory");
	}
	__builtin_memset(k, 0, sizeof(*k));
	k->netns_cookie = netns_cookie;
	__builtin_memcpy(k->addr, a, 16);
	/* local_port is host order in sock_ops. */
	k->port = bpf_htons((__u16)skops->local_port);
}

static __always_inline struct s46_sk_val *s46_ops_sk(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct s46_sk_val *v;

	if (!sk)
		return NULL;
	v = bpf_sk_storage_get(&s46_sk, sk, 0, 0);
	if (!v || v->conn.kind != S46_KIND_PROXY)
		return NULL;
	return v;
}

/* TCP_CONNECT_CB runs once the source port exists, before the SYN leaves: the entry is
 * there before the agent can accept the connection. */
static __always_inline void s46_publish(struct bpf_sock_ops *skops)
{
	struct s46_sk_val *v = s46_ops_sk(skops);
	struct s46_conn_key k;
	struct s46_conn_val cv;

	if (!v)
		return;
	s46_conn_key_of(skops, &k, v->netns_cookie);
	__builtin_memset(&cv, 0, sizeof(cv));
	__builtin_memcpy(&cv.dst, &v->conn, sizeof(cv.dst));
	cv.cookie = v->cookie;
	cv.pid = v->pid;
	if (bpf_map_update_elem(&s46_conn, &k, &cv, BPF_ANY)) {
		s46_count(S46_STAT_ERRORS);
		return;
	}
	s46_count(S46_STAT_PUBLISHED);
	/* Ask for state changes so the entry goes away with the socket. */
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

static __always_inline void s46_unpublish(struct bpf_sock_ops *skops)
{
	struct s46_sk_val *v = s46_ops_sk(skops);
	struct s46_conn_key k;

	if (!v)
		return;
	s46_conn_key_of(skops, &k, v->netns_cookie);
	bpf_map_delete_elem(&s46_conn, &k);
}

SEC("sockops")
int s46_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		s46_publish(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			s46_unpublish(skops);
		break;
	}
	return 1;
}

/* A socket whose datagrams went to the forwarder is closing: the agent ends its flows now
 * rather than after their idle timeout (the next program to get its port must not receive
 * their late replies). Kernel 5.9+ runs this for every socket of the cgroup that is released;
 * only those marked by s46_mark_udp are told. */
SEC("cgroup/sock_release")
int s46_sock_release(struct bpf_sock *sk)
{
	struct s46_sk_val *v;
	struct s46_udp_end *e;

	if (sk->type != SOCK_DGRAM)
		return 1;
	v = bpf_sk_storage_get(&s46_sk, sk, 0, 0);
	if (!v || !(v->flags & S46_SK_UDP))
		return 1;
	e = bpf_ringbuf_reserve(&s46_udp_end, sizeof(*e), 0);
	if (!e) {
		s46_count(S46_STAT_UDP_END_LOST);
		return 1;
	}
	e->netns_cookie = bpf_get_netns_cookie(sk);
	e->cookie = bpf_get_socket_cookie(sk);
	bpf_ringbuf_submit(e, 0);
	s46_count(S46_STAT_UDP_END);
	return 1;
}
