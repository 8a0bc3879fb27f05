#!/bin/sh
# ipvs.sh — `make bench`'s balancer part: one and two gateways behind IPVS + keepalived, in a QEMU guest.
# This host's kernel has no ip_vs; Debian's 6.12 does. test_ipvs.sh measures with s46bench in the guest
# (S46_IPVS_BENCH=1) and prints "bench: ipvs ..." lines; on 2 emulated cores they show the
# balancer's overhead, not scaling.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
log=$(mktemp /tmp/s46bench-ipvs.XXXXXX)
printf '\n== IPVS: one and two gateways behind keepalived (QEMU guest, kernel 6.12)\n'
S46_IPVS_BENCH=1 S46_VMTEST_KERNELS=6.12 S46_VMTEST_TESTS=test_ipvs.sh \
	"$REPO/vmtest/run.sh" >"$log" 2>&1
rc=$?
if grep -q 'bench: ipvs' "$log"; then
	grep 'bench: ipvs' "$log" | sed 's/^ *bench: /    /'
else
	echo "    not measured: the guest run printed no figures (exit $rc); its last lines:"
	tail -n 15 "$log" | sed 's/^/    | /'
fi
rm -f "$log"
exit 0
