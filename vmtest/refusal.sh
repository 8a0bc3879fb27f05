#!/bin/sh
# refusal.sh — asserts the agent's refusal on a kernel without cgroup/getpeername4, emulated in the guest by a BPF LSM hook.
# usage (inside a vmtest guest only): S46_BIN=... S46_VMTEST_OBJ=DIR vmtest/refusal.sh
# Debian 6.1 and 6.12 have every feature the agent needs and no older kernel is packaged,
# so refuse.bpf.o makes this kernel answer BPF_PROG_LOAD of a getpeername4 program the way
# Linux 5.7 and older do (EINVAL for an unknown expected_attach_type). The agent's probe
# then runs for real against a real rejection. The hook affects every bpf() caller of the
# machine, which is why this runs in a throwaway guest and never on the host.
set -eu
bin=${S46_BIN:?S46_BIN must name the socks46 binary}
objdir=${S46_VMTEST_OBJ:?S46_VMTEST_OBJ must name the directory with refuse.bpf.o}
[ "${S46_IN_VMTEST_GUEST:-}" = 1 ] || {
	echo "refusal: runs only inside a vmtest guest (it changes what bpf() accepts machine-wide)"
	exit 1
}

tag=s46ref$$
# The filesystem type follows the "-" that ends mountinfo's optional fields.
cgroot=$(awk '{ i = 7; while ($i != "-") i++; if ($(i + 1) == "cgroup2") { print $5; exit } }' \
	/proc/self/mountinfo)
cg=$cgroot/$tag
lsm=/sys/fs/bpf/$tag-lsm
probe=/sys/fs/bpf/$tag-probe
errlog=/tmp/$tag.err

cleanup() {
	rm -rf "$lsm" "$probe" "$errlog"
	rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT

grep -qs . /sys/kernel/security/lsm || mount -t securityfs securityfs /sys/kernel/security
grep -q bpf /sys/kernel/security/lsm ||
	{ echo "refusal: the BPF LSM is not active ($(cat /sys/kernel/security/lsm))"; exit 1; }
mkdir "$cg" "$lsm"

"$objdir/lsm_attach" "$objdir/refuse.bpf.o" "$lsm"
# The injection itself must work, or the agent's answer below would prove nothing.
if bpftool prog loadall "$objdir/selfcheck.bpf.o" "$probe" 2>/dev/null; then
	echo "refusal: the kernel still accepts cgroup/getpeername4 with refuse.bpf.o attached"
	exit 1
fi

rc=0
timeout 120 "$bin" agent --gateway 127.0.0.1:1080 --cgroup "$cg" 2>"$errlog" >/dev/null || rc=$?
echo "refusal: agent exit $rc, stderr:"
sed 's/^/    /' "$errlog"
want="kernel $(uname -r) lacks cgroup/getpeername4 (Linux 5.8+)"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
	echo "refusal: the agent did not refuse (exit $rc)"
	exit 1
fi
grep -qF "$want" "$errlog" || { echo "refusal: stderr lacks \"$want\""; exit 1; }
[ "$(wc -l <"$errlog")" -eq 1 ] || { echo "refusal: the refusal is not one line"; exit 1; }
# A refused agent leaves the cgroup as it was.
attached=$(bpftool cgroup show "$cg")
[ -z "$attached" ] || { echo "refusal: programs left on $cg: $attached"; exit 1; }

rm -rf "$lsm"
# bpf_link release is deferred: give the kernel a moment before asking again.
n=0
until bpftool prog loadall "$objdir/selfcheck.bpf.o" "$probe" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -lt 20 ] || { echo "refusal: getpeername4 still refused after detaching the hook"; exit 1; }
	sleep 0.5
done
echo "refusal: refused with \"$want\"; accepted again once the hook was gone"
