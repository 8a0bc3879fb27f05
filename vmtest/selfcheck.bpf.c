// SPDX-License-Identifier: GPL-2.0
/* selfcheck.bpf.c — minimal cgroup programs proving the guest can load and attach cgroup BPF. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 203.0.113.99:9 is refused with EPERM; every other connect goes on untouched. */
SEC("cgroup/connect4")
int selfcheck_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 == bpf_htonl(0xcb007163) && ctx->user_port == bpf_htons(9))
		return 0;
	return 1;
}

/* Never attached: refusal.sh loads this object to see whether the kernel accepts these types. */
SEC("cgroup/getpeername4")
int selfcheck_getpeername4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sock_release")
int selfcheck_sock_release(struct bpf_sock *sk)
{
	return 1;
}

SEC("sockops")
int selfcheck_sockops(struct bpf_sock_ops *skops)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
