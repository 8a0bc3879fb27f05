# guestlib.sh — the end of every guest: the verdict on the work share, a kernel-splat scan, power-off; sourced.
# The host treats a missing result as a failure, so every path of a guest ends in guest_finish.
share=/run/s46-vmtest

guest_finish() {
	echo "$1" >$share/result
	sync
	echo "VMTEST_RESULT=$1"
	# reboot(2) powers off before returning; sysrq would do it later from a workqueue, and
	# PID 1 must not exit meanwhile (that panics) nor exec from the 9p root being torn down.
	busybox poweroff -f
	echo o >/proc/sysrq-trigger
	while :; do :; done
}

# Kernel splats during the run count as failures even when every test passed.
guest_dmesg_clean() {
	splats=$(dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t' || true)
	[ -z "$splats" ] && return 0
	echo "vmtest-guest: kernel warnings during the run:"
	dmesg | tail -n 80
	return 1
}
