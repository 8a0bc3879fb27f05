/* s46_fast.bpf.c — the fast path: bytes received on one socket of a pair leave on the other. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "s46_fast.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Both sockets of every connection on the fast path, keyed by cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, S46_FAST_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u32);
} s46_fast_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, S46_FAST_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct s46_fast_val);
} s46_fast_pairs SEC(".maps");

/* The skb goes out of the peer's send queue; counted first, so the agent knows how many
 * bytes the peer must have taken before the EOF can follow them. */
static __always_inline int s46_fast_forward(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct s46_fast_val *v = bpf_map_lookup_elem(&s46_fast_pairs, &cookie);

	/* Not paired (yet, or any more): the bytes stay on this socket for the agent. */
	if (!v)
		return SK_PASS;
	/* A bare FIN: TCP has taken note of it (the agent sees EPOLLRDHUP and passes it on).
	 * Sent on, an empty skb would break the peer's pipe (sk_psock_backlog reports EPIPE
	 * when a send moves nothing). */
	if (!skb->len)
		return SK_DROP;
	if (bpf_sk_redirect_hash(skb, &s46_fast_socks, &v->peer, 0) == SK_PASS) {
		__sync_fetch_and_add(&v->bytes, skb->len);
		return SK_PASS;
	}
	/* SK_PASS without a redirect queues the skb on this socket: kept, not dropped. */
	__sync_fetch_and_add(&v->held, skb->len);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int s46_fast_verdict(struct __sk_buff *skb)
{
	return s46_fast_forward(skb);
}
