// SPDX-License-Identifier: GPL-2.0
/* refuse.bpf.c — a BPF LSM hook: the kernel rejects one cgroup attach type, as old ones do. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EINVAL 22

/* Set before load; getpeername4 appeared in Linux 5.8, so by default this kernel answers
 * like 5.7 and older: BPF_PROG_LOAD with an unknown expected_attach_type is -EINVAL. */
const volatile __u32 refuse_attach_type = BPF_CGROUP_INET4_GETPEERNAME;

SEC("lsm/bpf")
int BPF_PROG(refuse_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	if (cmd != BPF_PROG_LOAD)
		return 0;
	if (attr->prog_type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR &&
	    attr->expected_attach_type == refuse_attach_type)
		return -EINVAL;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
