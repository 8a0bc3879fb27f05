#!/bin/bash
# vmmax.sh — boots a QEMU guest (TCG; BENCH_VM_ACCEL=kvm where KVM works) with the vmtest kernel to hold BENCH_MAX connections through one agent and one gateway process, when the host's descriptor limit cannot be raised.
# usage: tools/bench/vmmax.sh WORKDIR   (S46_BIN, S46_TOOLS, BENCH_MAX in the environment;
# BENCH_VM_SECS bounds the run (default 1500: TCG is slow), BENCH_VM_MEM is the guest's memory, default 6G:
# 100,000 connections through the agent are 600,000 sockets in the guest's kernel)
# Prints the guest's two result lines (see vmguest.sh), or "error=..." and exits 1. It reuses what
# `make vmtest` leaves in its cache (an unpacked Debian kernel) and vmtest's initramfs and
# init; it downloads nothing.
set -u

REPO=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:?usage: vmmax.sh WORKDIR}
cache=${S46_VMTEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/socks46-vmtest}

vmmax_fail()
{
	echo "error=$*"
	exit 1
}

# KVM where it works (nested setups often refuse it: a short probe boot decides, as in
# vmtest/run.sh); TCG otherwise, slower but exact.
accel=${BENCH_VM_ACCEL:-auto}
command -v qemu-system-x86_64 >/dev/null || vmmax_fail "qemu-system-x86 not installed"
kroot=
for pkgfile in "$cache"/*.pkg; do
	[ -e "$pkgfile" ] || continue
	d=$cache/$(cat "$pkgfile")
	[ -e "$d/.unpacked" ] && kroot=$d
done
[ -n "$kroot" ] || vmmax_fail "no kernel in $cache (make vmtest fetches one)"
kver=$(ls "$kroot/lib/modules")
kernel=$kroot/boot/vmlinux-$kver
[ -s "$kernel" ] || kernel=$kroot/boot/vmlinuz-$kver
mkdir -p "$work/share"
"$REPO/vmtest/initramfs.sh" "$kroot" "$kver" "$work/initramfs.cpio" 2>"$work/initramfs.log" ||
	vmmax_fail "initramfs: $(tail -n 1 "$work/initramfs.log")"
if [ "$accel" = auto ]; then
	accel=tcg
	if [ -w /dev/kvm ] && timeout -k 5 20 qemu-system-x86_64 -nodefaults -display none -no-reboot \
		-machine q35,accel=kvm -cpu host -smp 1 -m 512M -kernel "$kernel" \
		-initrd "$work/initramfs.cpio" -append "console=ttyS0 panic=-1 quiet s46.probe" \
		-serial stdio </dev/null 2>&1 | grep -q VMTEST_PROBE_OK; then
		accel=kvm
	fi
fi
cpu=max
[ "$accel" = kvm ] && cpu=host
cat >"$work/share/env" <<-EOT
	S46_GUEST='$REPO/tools/bench/vmguest.sh'
	S46_MODDIR='$kroot/lib/modules/$kver'
	S46_BIN='$S46_BIN'
	S46_TOOLS='$S46_TOOLS'
	BENCH_MAX='${BENCH_MAX:-100000}'
	BENCH_VM_SECS='${BENCH_VM_SECS:-1500}'
EOT
rm -f "$work/share/result-max"
timeout -k 5 $((${BENCH_VM_SECS:-1500} + 120)) qemu-system-x86_64 -nodefaults -display none -no-reboot \
	-machine "q35,accel=$accel" -cpu "$cpu" -smp 2 -m "${BENCH_VM_MEM:-6G}" \
	-kernel "$kernel" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 quiet" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$work/share,mount_tag=work,security_model=none,multidevs=remap" \
	-serial stdio </dev/null >"$work/console.log" 2>&1
[ -s "$work/share/result-max" ] ||
	vmmax_fail "guest gave no result: $(grep -m 1 -E 'vmtest-init|panic|error' "$work/console.log")"
sed "s/\$/ accel=$accel/" "$work/share/result-max"
