#!/bin/sh
# refusal.sh — asserts the agent's refusal on kernels lacking a program type it needs, emulated in the guest by BPF LSM hooks.
# usage (inside a vmtest guest only): S46_BIN=... S46_VMTEST_OBJ=DIR vmtest/refusal.sh
# Debian 6.1 and 6.12 have every feature the agent needs and no older kernel is packaged,
# so refuse-*.bpf.o make this kernel answer BPF_PROG_LOAD of one program type the way
# kernels without it do (EINVAL). The agent's probe then runs for real against a real
# rejection and must name what is missing. The hook affects every bpf() caller of the
# machine, which is why this runs in a throwaway guest and never on the host.
set -eu
bin=${S46_BIN:?S46_BIN must name the socks46 binary}
objdir=${S46_VMTEST_OBJ:?S46_VMTEST_OBJ must name the directory with refuse-*.bpf.o}
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

fail() {
	echo "refusal: $*"
	exit 1
}

# refusal_case NAME WHAT: with refuse-NAME.bpf.o attached, the agent must refuse and name WHAT.
refusal_case() {
	want="kernel $(uname -r) lacks $2"
	mkdir "$lsm"
	"$objdir/lsm_attach" "$objdir/refuse-$1.bpf.o" "$lsm"
	# The injection itself must work, or the agent's answer would prove nothing.
	! bpftool prog loadall "$objdir/selfcheck.bpf.o" "$probe" 2>/dev/null ||
		fail "$1: the kernel still accepts every selfcheck program with the hook attached"

	rc=0
	timeout 120 "$bin" agent --gateway 127.0.0.1:1080 --cgroup "$cg" 2>"$errlog" >/dev/null ||
		rc=$?
	echo "refusal: $1: agent exit $rc, stderr:"
	sed 's/^/    /' "$errlog"
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
		fail "$1: the agent did not refuse (exit $rc)"
	fi
	grep -qF "$want" "$errlog" || fail "$1: stderr lacks \"$want\""
	[ "$(wc -l <"$errlog")" -eq 1 ] || fail "$1: the refusal is not one line"
	# A refused agent leaves the cgroup as it was.
	attached=$(bpftool cgroup show "$cg")
	[ -z "$attached" ] || fail "$1: programs left on $cg: $attached"

	rm -rf "$lsm"
	reaccepted "$1"
	echo "refusal: refused with \"$want\"; accepted again once the hook was gone"
}

# reaccepted NAME: once the hook is detached the kernel loads every selfcheck program again
# (bpf_link release is deferred: give it a moment before failing).
reaccepted() {
	n=0
	until bpftool prog loadall "$objdir/selfcheck.bpf.o" "$probe" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt 20 ] || fail "$1: still refused after detaching the hook"
		sleep 0.5
	done
	rm -rf "$probe"
}

# fallback_case NAME WHAT: with refuse-NAME.bpf.o attached, the agent must start anyway and
# say in one line that it goes without WHAT (an optional program).
fallback_case() {
	want="kernel $(uname -r) lacks $2"
	mkdir "$lsm"
	"$objdir/lsm_attach" "$objdir/refuse-$1.bpf.o" "$lsm"
	! bpftool prog loadall "$objdir/selfcheck.bpf.o" "$probe" 2>/dev/null ||
		fail "$1: the kernel still accepts every selfcheck program with the hook attached"
	"$bin" agent --gateway 127.0.0.1:1080 --cgroup "$cg" --control /tmp/$tag.sock --no-pin \
		--fake-state none --optin-state none 2>"$errlog" >/dev/null &
	pid=$!
	n=0
	until [ -S /tmp/$tag.sock ] && "$bin" status --control /tmp/$tag.sock >/dev/null 2>&1; do
		n=$((n + 1))
		kill -0 "$pid" 2>/dev/null || fail "$1: the agent exited: $(cat "$errlog")"
		[ "$n" -lt 240 ] || fail "$1: the agent did not start"
		sleep 0.5
	done
	kill "$pid"
	wait "$pid" || true
	echo "refusal: $1: the agent started; its lines:"
	sed 's/^/    /' "$errlog"
	[ "$(grep -cF "$want" "$errlog")" -eq 1 ] || fail "$1: stderr lacks one \"$want\""
	rm -rf "$lsm" /tmp/$tag.sock
	reaccepted "$1"
	echo "refusal: went without it, saying \"$want\""
}

grep -qs . /sys/kernel/security/lsm || mount -t securityfs securityfs /sys/kernel/security
grep -q bpf /sys/kernel/security/lsm ||
	fail "the BPF LSM is not active ($(cat /sys/kernel/security/lsm))"
mkdir "$cg"

# Linux 5.7 and older: no getpeername hooks. Before 4.13: no sock_ops at all.
refusal_case getpeername4 "cgroup/getpeername4 (Linux 5.8+)"
refusal_case sockops "sock_ops with sk storage access (Linux 5.10+)"
# Before 5.9 (or without sk storage in it): no cgroup/sock_release, which is optional.
fallback_case sockrelease "cgroup/sock_release with sk storage and a ring buffer (Linux 5.11+)"
