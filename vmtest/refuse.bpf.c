// SPDX-License-Identifier: GPL-2.0
/* refuse.bpf.c — a BPF LSM hook: the kernel rejects one program type, as older kernels do. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EINVAL 22

/* Chosen at build time, one object per case (run.sh). By default getpeername4, which
 * appeared in Linux 5.8: kernels before it answer BPF_PROG_LOAD with that unknown
 * expected_attach_type with -EINVAL, and so does this hook. */
#ifndef REFUSE_PROG_TYPE
#define REFUSE_PROG_TYPE BPF_PROG_TYPE_CGROUP_SOCK_ADDR
#define REFUSE_ATTACH_TYPE BPF_CGROUP_INET4_GETPEERNAME
#endif

SEC("lsm/bpf")
int BPF_PROG(refuse_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	if (cmd != BPF_PROG_LOAD || attr->prog_type != REFUSE_PROG_TYPE)
		return 0;
#ifdef REFUSE_ATTACH_TYPE
	if (attr->expected_attach_type != REFUSE_ATTACH_TYPE)
		return 0;
#endif
	return -EINVAL;
}

char LICENSE[] SEC("license") = "GPL";
