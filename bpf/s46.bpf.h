/* s46.bpf.h — BPF-side helpers shared by the cgroup programs: config, maps, address tests. */
#ifndef S46_BPF_SIDE_H
#define S46_BPF_SIDE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "s46_bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOL_SOCKET 1
#define SO_MARK 36

/* The loopback address the agent listens on, host order. */
#define S46_LO4 0x7f000001

/* Verdicts of cgroup sock_addr programs. */
#define S46_ALLOW 1
#define S46_DENY 0

const volatile struct s46_cfg s46_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct s46_sk_val);
} s46_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, S46_CONN_MAX);
	__type(key, struct s46_conn_key);
	__type(value, struct s46_conn_val);
} s46_conn SEC(".maps");

/* The network namespaces served (struct s46_netns_val by namespace cookie). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, S46_NETNS_MAX);
	__type(key, __u64);
	__type(value, struct s46_netns_val);
} s46_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, S46_POLICY_MAX);
	__type(key, struct s46_policy_key);
	__type(value, __u8);
} s46_policy SEC(".maps");

/* Slot of each recent UDP destination (a cache: s46_udp_dst is the truth). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, S46_UDP_SLOTS);
	__type(key, struct s46_udp_key);
	__type(value, __u32);
} s46_udp_slot SEC(".maps");

/* Original destination of each slot, read by the agent per datagram (mapped into its memory:
 * no system call per datagram). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, S46_UDP_SLOTS);
	__type(key, __u32);
	__type(value, struct s46_dst);
} s46_udp_dst SEC(".maps");

/* Releases of sockets whose datagrams went to the forwarder (struct s46_udp_end). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, S46_UDP_END_RING);
} s46_udp_end SEC(".maps");

/* Next slot to hand out; slots are reused round-robin. */
__u32 s46_udp_next = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, S46_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} s46_stats SEC(".maps");

static __always_inline void s46_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&s46_stats, &idx);

	if (v)
		*v += 1;
}

/* Whether the calling task runs as an exempt user. connect and sendmsg run in the caller's
 * context, so this is who asks; recvmsg, getpeername and sock_ops act only on what connect
 * or sendmsg recorded on the socket, so the decision taken there holds for the socket. */
static __always_inline int s46_exempt_uid(void)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();

#pragma unroll
	for (int i = 0; i < S46_EXEMPT_MAX; i++)
		if ((__u32)i < s46_cfg.nexempt && s46_cfg.exempt_uids[i] == uid)
			return 1;
	return 0;
}

/* Whether the agent serves the socket's network namespace (has listeners in it). */
static __always_inline int s46_served(void *ctx)
{
	__u64 ns = bpf_get_netns_cookie(ctx);

	return bpf_map_lookup_elem(&s46_netns, &ns) != NULL;
}

/* A socket of a namespace the agent does not serve, one the agent/gateway marked, or one of
 * an exempt user (a co-located gateway) is left alone. */
static __always_inline int s46_exempt(struct bpf_sock_addr *ctx)
{
	int mark = 0;

	if (!s46_served(ctx))
		return 1;
	if (s46_cfg.mark && !bpf_getsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) &&
	    (__u32)mark == s46_cfg.mark)
		return 1;
	return s46_exempt_uid();
}

static __always_inline int s46_in_pool4(__be32 a)
{
	return s46_cfg.mask4 && (a & s46_cfg.mask4) == s46_cfg.pool4;
}

static __always_inline int s46_in_pool6(const __u32 a[4])
{
	/* volatile stays: a plain read of the zero-initialised rodata would fold to 0. */
	const volatile __u32 *m = (const volatile __u32 *)s46_cfg.mask6;
	const volatile __u32 *p = (const volatile __u32 *)s46_cfg.pool6;
	__u32 any = m[0] | m[1] | m[2] | m[3];

	return any && (a[0] & m[0]) == p[0] && (a[1] & m[1]) == p[1] && (a[2] & m[2]) == p[2] &&
	       (a[3] & m[3]) == p[3];
}

static __always_inline int s46_policy_match(const __u32 a[4])
{
	struct s46_policy_key k = {.prefixlen = 128};

	__builtin_memcpy(k.addr, a, 16);
	return bpf_map_lookup_elem(&s46_policy, &k) != NULL;
}

/* user_ip6 is read and written a word at a time (the verifier's rule for the context). */
static __always_inline void s46_ip6_get(const struct bpf_sock_addr *ctx, __u32 a[4])
{
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
}

static __always_inline void s46_ip6_set(struct bpf_sock_addr *ctx, const __u32 a[4])
{
	ctx->user_ip6[0] = a[0];
	ctx->user_ip6[1] = a[1];
	ctx->user_ip6[2] = a[2];
	ctx->user_ip6[3] = a[3];
}

/* Shows an original destination to the program: address and port. */
static __always_inline void s46_ip6_show(struct bpf_sock_addr *ctx, const struct s46_dst *d)
{
	__u32 a[4];

	__builtin_memcpy(a, d->addr, 16);
	s46_ip6_set(ctx, a);
	ctx->user_port = d->port;
}

static __always_inline void s46_mapped(__u32 out[4], __be32 v4)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = bpf_htonl(0xffff);
	out[3] = v4;
}

static __always_inline int s46_is_mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* 127.0.0.0/8 (v4-mapped) or ::1: never sent to the gateway, whatever the policy says
 * (--via-gateway 0.0.0.0/0 on an IPv6-only host must not catch local services). */
static __always_inline int s46_is_udp_net6(const __u32 a[4])
{
	return a[0] == bpf_htonl(S46_UDP_NET6_0) && a[1] == bpf_htonl(S46_UDP_NET6_1) &&
	       a[2] == bpf_htonl(S46_UDP_NET6_2) &&
	       (a[3] & bpf_htonl(0xffff0000)) == bpf_htonl(S46_UDP_NET6_3);
}

/* The forwarder's IPv6 slot addresses count as loopback: a program nested below another
 * attachment must not steer them again. */
static __always_inline int s46_is_loopback(const __u32 a[4])
{
	if (s46_is_mapped(a))
		return (a[3] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
	return (!a[0] && !a[1] && !a[2] && a[3] == bpf_htonl(1)) || s46_is_udp_net6(a);
}

static __always_inline void s46_dst_set(struct s46_dst *d, const __u32 a[4], __be16 port, __u8 kind,
					__u8 family)
{
	__builtin_memcpy(d->addr, a, 16);
	d->port = port;
	d->kind = kind;
	d->family = family;
	d->pad = 0;
}

static __always_inline struct s46_sk_val *s46_sk_get(struct bpf_sock_addr *ctx, int create)
{
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return NULL;
	return bpf_sk_storage_get(&s46_sk, sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

/* Decides what a connect to a (v4-mapped or IPv6) address becomes: S46_KIND_NONE (left
 * alone), S46_KIND_PROXY or S46_KIND_DNS. Sets *deny for non-DNS UDP to a fake address,
 * which has nowhere to go. */
static __always_inline int s46_classify(__u32 type, const __u32 a[4], __be16 port, int *deny)
{
	int mapped = s46_is_mapped(a);
	int fake = mapped ? s46_in_pool4(a[3]) : s46_in_pool6(a);
	/* IPv6 destinations need the forwarder's IPv6 slot route. */
	int udp = s46_cfg.udp_port && (mapped || (s46_cfg.flags & S46_CFG_UDP6));

	*deny = 0;
	/* A fake address names a server behind the gateway, port 53 too: checked first. */
	if (fake && type == SOCK_STREAM)
		return S46_KIND_PROXY;
	if (fake && type == SOCK_DGRAM && udp)
		return S46_KIND_UDP;
	/* All other DNS goes to the responder, whatever server the program asked. */
	if ((type == SOCK_STREAM || type == SOCK_DGRAM) && port == bpf_htons(53) &&
	    !(s46_cfg.flags & S46_CFG_NO_DNS))
		return S46_KIND_DNS;
	if (type == SOCK_STREAM && !s46_is_loopback(a) && s46_policy_match(a))
		return S46_KIND_PROXY;
	if (type == SOCK_DGRAM && udp && !s46_is_loopback(a) && s46_policy_match(a))
		return S46_KIND_UDP;
	if (type == SOCK_DGRAM && fake)
		*deny = 1;
	return S46_KIND_NONE;
}

/* Whether d holds destination a:port. */
static __always_inline int s46_udp_same(const struct s46_dst *d, const __u32 a[4], __be16 port)
{
	const __u32 *x = (const __u32 *)d->addr;

	return d->kind == S46_KIND_UDP && d->port == port && x[0] == a[0] && x[1] == a[1] &&
	       x[2] == a[2] && x[3] == a[3];
}

/* The slot of destination a:port, given a new one if it has none or lost it to another
 * destination. Returns the slot, or -1 (counted) when the maps fail. */
static __always_inline int s46_udp_slot_of(const __u32 a[4], __be16 port)
{
	struct s46_udp_key k = {};
	struct s46_dst *d;
	__u32 *s, n;

	__builtin_memcpy(k.addr, a, 16);
	k.port = port;
	s = bpf_map_lookup_elem(&s46_udp_slot, &k);
	if (s) {
		n = *s;
		d = bpf_map_lookup_elem(&s46_udp_dst, &n);
		if (d && s46_udp_same(d, a, port))
			return (int)n;
	}
	n = __sync_fetch_and_add(&s46_udp_next, 1) % S46_UDP_SLOTS;
	d = bpf_map_lookup_elem(&s46_udp_dst, &n);
	if (!d || bpf_map_update_elem(&s46_udp_slot, &k, &n, BPF_ANY)) {
		s46_count(S46_STAT_ERRORS);
		return -1;
	}
	s46_dst_set(d, a, port, S46_KIND_UDP, AF_INET);
	return (int)n;
}

/* The loopback address (host order) standing for slot n. */
static __always_inline __u32 s46_udp_addr(int n)
{
	return S46_UDP_NET | (__u32)n;
}

/* The IPv6 slot address of slot n. */
static __always_inline void s46_udp_addr6(__u32 out[4], int n)
{
	out[0] = bpf_htonl(S46_UDP_NET6_0);
	out[1] = bpf_htonl(S46_UDP_NET6_1);
	out[2] = bpf_htonl(S46_UDP_NET6_2);
	out[3] = bpf_htonl(S46_UDP_NET6_3 | (__u32)n);
}

/* The slot a reply's source (network order) stands for, or -1 if it is not the forwarder's. */
static __always_inline int s46_udp_slot_from(__be32 ip, __u32 port)
{
	__u32 h = bpf_ntohl(ip);

	if (!s46_cfg.udp_port || port != s46_cfg.udp_port || (h & 0xffff0000) != S46_UDP_NET)
		return -1;
	return (int)(h & 0xffff);
}

/* Whether the agent's DNS responder has a socket at the loopback address port-53 traffic
 * would be steered to (127.0.0.1, or ::1 when v6), looked up in the socket's own network
 * namespace. Links pinned by an agent that was stopped or killed stay attached: without a
 * responder they leave DNS alone, so the cgroup's real resolver answers (fail open), while
 * connects to fake addresses still go to the closed proxy port (fail closed). */
static __always_inline int s46_dns_alive(struct bpf_sock_addr *ctx, int v6)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int stream = ctx->type == SOCK_STREAM;

	if (v6) {
		t.ipv6.daddr[3] = bpf_htonl(1);
		t.ipv6.dport = s46_cfg.dns_port;
		if (stream)
			sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
		else
			sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	} else {
		t.ipv4.daddr = bpf_htonl(S46_LO4);
		t.ipv4.dport = s46_cfg.dns_port;
		if (stream)
			sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
		else
			sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	}
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

/* Remembers the original destination on the socket; returns 0 or -ENOMEM. */
static __always_inline int s46_remember(struct bpf_sock_addr *ctx, const __u32 a[4], __be16 port,
					int kind, __u8 family)
{
	struct s46_sk_val *v = s46_sk_get(ctx, 1);

	if (!v) {
		s46_count(S46_STAT_ERRORS);
		return -12;
	}
	s46_dst_set(&v->conn, a, port, kind, family);
	v->netns_cookie = bpf_get_netns_cookie(ctx);
	v->cookie = bpf_get_socket_cookie(ctx);
	v->pid = bpf_get_current_pid_tgid() >> 32;
	return 0;
}

/* Marks the socket as one whose release the agent must hear of (its UDP went to the
 * forwarder). Written once: later datagrams only read the flag. */
static __always_inline void s46_mark_udp(struct bpf_sock_addr *ctx)
{
	struct s46_sk_val *v = s46_sk_get(ctx, 1);

	if (!v) {
		s46_count(S46_STAT_ERRORS);
		return;
	}
	if (!(v->flags & S46_SK_UDP))
		v->flags |= S46_SK_UDP;
}

/* The agent's own proxy or DNS port on loopback: where the programs send what they steer. */
static __always_inline int s46_is_agent_dst(const __u32 a[4], __be16 port)
{
	return s46_is_loopback(a) && (port == s46_cfg.proxy_port || port == s46_cfg.dns_port ||
				      (s46_cfg.udp_port && port == s46_cfg.udp_port));
}

/* A plain connect forgets an earlier redirect of the same socket (UDP may reconnect). */
static __always_inline void s46_forget(struct bpf_sock_addr *ctx)
{
	struct s46_sk_val *v = s46_sk_get(ctx, 0);

	if (v)
		v->conn.kind = S46_KIND_NONE;
}

#endif
