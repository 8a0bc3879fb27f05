#!/bin/sh
# guest.sh — runs inside the QEMU guest as its first process: the harness self-check, then tests/kernel, then powers off.
# Its verdict is the file "result" on the writable work share (and a VMTEST_RESULT= line on the
# console); the host treats a missing result as a failure, so every path ends in guest_finish.
share=/run/s46-vmtest
. $share/env
. "$S46_REPO/vmtest/guestlib.sh"

# check-harness.sh proves that the host never mistakes these endings for a pass.
case ${S46_VMTEST_FAULT:-} in
panic) echo c >/proc/sysrq-trigger ;;
hang) while :; do sleep 1; done ;;
silent) busybox poweroff -f ;;
esac

cd "$S46_REPO" || guest_finish 90
echo "vmtest-guest: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
# An oops in a BPF hook would otherwise leave a half-dead guest until the host's timeout.
echo 1 >/proc/sys/kernel/panic_on_oops
echo 1 >/proc/sys/kernel/sysrq
ip link set lo up
modprobe veth || { echo "vmtest-guest: modprobe veth failed"; guest_finish 91; }

export S46_BIN S46_TOOLS S46_TEST_TIMEOUT S46_VMTEST_OBJ S46_IPVS_BENCH S46_IN_VMTEST_GUEST=1
export S46_SELFCHECK_OBJ="$S46_VMTEST_OBJ/selfcheck.bpf.o"
rc=0
tests/run.sh vm-selfcheck "$S46_REPO/vmtest/selfcheck.sh" || rc=1
if [ "$rc" -eq 0 ]; then
	# shellcheck disable=SC2086 # S46_TESTS is a list of absolute paths without spaces.
	[ -z "$S46_TESTS" ] || tests/run.sh kernel $S46_TESTS || rc=1
	# Last: while its hook is attached the kernel refuses part of what the tests load.
	# Its output is shown on success too: it carries the agent's refusal line.
	if out=$(timeout -k 5 "$S46_TEST_TIMEOUT" "$S46_REPO/vmtest/refusal.sh" 2>&1); then
		echo "  PASS  vm-refusal/refusal.sh"
	else
		echo "  FAIL  vm-refusal/refusal.sh (exit $?)"
		rc=1
	fi
	printf '%s\n' "$out" | sed 's/^/    | /'
fi
guest_dmesg_clean || rc=1
guest_finish $rc
