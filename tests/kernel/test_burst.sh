#!/bin/bash
# test_burst.sh — bursts of 256 parallel IPv6 and IPv4 connects, held open: every one finds its original destination.
. "$(dirname "$0")/klib.sh"
ksetup
TOOLS=${S46_TOOLS:-$REPO/build/tools}
N=${S46_BURST_N:-1000}
kspawn sink "$TOOLS/s46sink" --listen "[2001:db8:1::2]:9000" --listen 203.0.113.2:9000
wait_tcp 2001:db8:1::2 9000
wait_tcp 203.0.113.2 9000
agent_start --via-gateway 2001:db8:1::2/128 --log-level warn
for t in "[2001:db8:1::2]:9000" 203.0.113.2:9000; do
	log "$N connects to $t, 256 in flight, all held open, then each asked for one more byte"
	rm -f "$TMP/ready"
	out=$(kin "$TOOLS/s46bench" idle --target "$t" --count "$N" --conc 256 --hold 0 \
		--ready-file "$TMP/ready" --timeout 120 2>&1)
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep idle-verify)
	assert_eq "$(printf '%s\n' "$line" | grep -o 'verified=[0-9]*')" "verified=$N" \
		"every connection relayed"
	assert_eq "$(printf '%s\n' "$line" | grep -o ' errors=[0-9]*')" " errors=0" \
		"the client saw no error"
done
assert_eq "$(jget counters.published)" $((2 * N)) "sock_ops published every connect"
assert_eq "$(jget counters.bpf_errors)" 0 "no map update failed"
assert_eq "$(jget counters.no_origdst)" 0 "every accepted connection had its original destination"
assert_eq "$(jget conn_entries)" 0 "no connection record left behind"
exit 0
