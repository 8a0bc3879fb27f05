#!/bin/sh
# check-harness.sh — proves run.sh fails a guest that panics, hangs or ends without a result, and a systemd guest whose boot fails (not part of make check).
# usage: S46_BIN=/abs/build/socks46 vmtest/check-harness.sh
# Each case boots the first kernel of kernels.conf with a fault injected by guest.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${S46_BIN:?S46_BIN must name the built socks46 binary}"
first=$(grep -v -E '^[[:space:]]*(#|$)' "$here/kernels.conf" | awk '{ print $1; exit }')
fails=0
for fault in panic:'kernel panic' hang:'timeout after' silent:'no result marker'; do
	want=${fault#*:}
	fault=${fault%%:*}
	log=$(mktemp)
	S46_VMTEST_FAULT=$fault S46_VMTEST_KERNELS=$first S46_VMTEST_TIMEOUT=60 \
		S46_VMTEST_ACCEL=tcg "$here/run.sh" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q "FAIL  vmtest/$first.*$want" "$log" &&
		grep -q 'vmtest: 0 passed, 1 failed' "$log"; then
		echo "  PASS  $fault: reported as \"$want\""
	else
		echo "  FAIL  $fault: exit $rc, expected \"$want\":"
		sed 's/^/    | /' "$log" | tail -n 20
		fails=$((fails + 1))
	fi
	rm -f "$log"
done
# The systemd guest: a boot that ends in emergency mode reports itself at once.
log=$(mktemp)
S46_VMTEST_FAULT=emergency S46_VMTEST_KERNELS=systemd S46_VMTEST_TIMEOUT=180 \
	S46_VMTEST_ACCEL=tcg "$here/run.sh" >"$log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "FAIL  vmtest/systemd.*guest tests exit 98" "$log"; then
	echo "  PASS  emergency: reported as \"guest tests exit 98\""
else
	echo "  FAIL  emergency: exit $rc, expected \"guest tests exit 98\":"
	sed 's/^/    | /' "$log" | tail -n 20
	fails=$((fails + 1))
fi
rm -f "$log"
[ "$fails" -eq 0 ]
