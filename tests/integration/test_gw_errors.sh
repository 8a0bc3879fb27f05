#!/bin/bash
# test_gw_errors.sh — each failure gets its documented SOCKS5 reply code; bad input never stops the gateway.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
echo_serve "$NS_S4" "$S4_ADDR" 7
# BH4_ADDR, BH6_ADDR and dead.test: connects that really time out.
topo_blackhole
# 203.0.113.77: nobody answers ARP; fail resolution fast (EHOSTUNREACH).
nsx "$NS_GW" sysctl -qw net.ipv4.neigh.s4.mcast_solicit=1 net.ipv4.neigh.s4.retrans_time_ms=200
gw_start --connect-timeout 2 --handshake-timeout 2

probe() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$@"; }
P4=("$GW4_ADDR" "$GW_PORT")

# still_serves WHAT: a good request right after a bad one succeeds.
still_serves()
{
	local out
	kill -0 "$GW_PID" 2>/dev/null || fail "gateway died after $1"
	out=$(probe "${P4[@]}" connect "${GOOD_DST:-web4.test}" 7 send:ok recv:2)
	assert_contains "$out" "data ok" "serves after $1"
}

# expect_rep CODE WHAT PROBE-ARGS...: the reply code, then the gateway closes.
expect_rep()
{
	local code=$1 what=$2 out
	shift 2
	out=$(probe -t 6 "${P4[@]}" connect "$@")
	assert_contains "$out" "reply $code" "$what -> REP $code"
	assert_contains "$out" "eof" "$what: connection closed after the failure reply"
	grep -q '^bnd ' <<<"$out" || fail "$what: reply shorter than a full SOCKS5 reply: $out"
	still_serves "$what"
}

# --- Reply codes.
expect_rep 04 "name not found (nope.test)" nope.test 80
expect_rep 04 "name not found, other name under .test" no-such-host.test 7
expect_rep 05 "refused (closed port on s4, ATYP IPv4)" "$S4_ADDR" 9
expect_rep 05 "refused (closed port, by name)" web4.test 9
expect_rep 05 "refused on every address of dual.test" dual.test 9
expect_rep 03 "network unreachable (no route to 2001:db8:ffff::1)" 2001:db8:ffff::1 80
expect_rep 04 "host unreachable (no ARP answer for 203.0.113.77)" 203.0.113.77 80
expect_rep 06 "connect timeout (IPv4 blackhole)" "$BH4_ADDR" 80
wait_log "$GW_LOG" "dest=$BH4_ADDR:80 .*timed out \\(rep 0x06\\)"
pass "the gateway logged its own connect timeout, not the client's"
expect_rep 06 "connect timeout (IPv6 blackhole)" "$BH6_ADDR" 80
expect_rep 06 "connect timeout on every address of dead.test" dead.test 80
expect_rep 04 "port 0" web4.test 0
expect_rep 07 "unknown command 0x09" web4.test 7 --cmd 9
expect_rep 07 "unknown command 0x00" web4.test 7 --cmd 0
expect_rep 07 "unknown command 0xf2 (after Tor's RESOLVE_PTR)" web4.test 7 --cmd 0xf2
# BIND and UDP ASSOCIATE: test_gw_bind.sh, test_gw_udp.sh.
expect_rep 08 "unknown address type 0x02" 'abcd' 7 --atyp 2
expect_rep 08 "unknown address type 0x05" 'abcd' 7 --atyp 5

# --- Malformed, truncated and garbage input: the gateway closes, never hangs or crashes.
# expect_close WHAT HEX...: raw bytes; the gateway must close the connection.
expect_close()
{
	local what=$1 out
	shift
	out=$(probe -t 4 "${P4[@]}" raw "$@")
	assert_contains "$out" "eof" "$what: closed"
	still_serves "$what"
	LAST_RAW=$(grep '^recv ' <<<"$out" | cut -d' ' -f2)
}

expect_close "HTTP request instead of SOCKS" "$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | od -An -tx1 | tr -d ' \n')"
assert_eq "$LAST_RAW" "" "no bytes answered to an HTTP request"
expect_close "SOCKS4 request" 0401005000000001666f6f00
expect_close "greeting with NMETHODS 0" 0500
case $LAST_RAW in "" | 05ff) pass "NMETHODS 0: nothing or 05ff" ;; *) fail "NMETHODS 0 answered $LAST_RAW" ;; esac
expect_close "zero-length DOMAINNAME" 050100 0501000300 0050
assert_contains "$LAST_RAW" "0500" "method chosen before the bad request"
[ "${LAST_RAW:6:2}" != "00" ] || fail "zero-length DOMAINNAME got a success reply: $LAST_RAW"
pass "zero-length DOMAINNAME: no success reply"
expect_close "request with version 4 after the greeting" 050100 0401000100000000000050
expect_close "RFC 1929 sub-negotiation without offering it" 050100 01017501700a
# (One argument holds at most 128 KiB: 32 KiB of bytes as hex.)
head -c 32768 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/garbage.hex"
expect_close "32 KiB of random bytes" "05ff$(cat "$TMP/garbage.hex")"
expect_close "truncated greeting then EOF" 0502 --shut
expect_close "truncated request then EOF" 050100 05010003 --shut

# A client that stops mid-handshake is dropped after --handshake-timeout (2 s):
# "eof" (not the probe's own "timeout", 20 s) and the gateway's log say so.
out=$(probe -t 20 "${P4[@]}" raw 050100 050100030977)
assert_contains "$out" "eof" "stalled handshake closed by the gateway"
wait_log "$GW_LOG" 'result="handshake timeout"'
pass "stalled handshake logged as a handshake timeout"
still_serves "a stalled handshake"

# Many bad connections at once, in parallel with good ones.
pids=()
for i in $(seq 20); do
	probe -t 4 "${P4[@]}" raw 05ff00 >/dev/null &
	pids+=($!)
	probe -t 8 "${P4[@]}" connect web4.test 7 send:p$i recv:$((1 + ${#i})) >"$TMP/par$i.out" &
	pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 20); do
	grep -q "data p$i" "$TMP/par$i.out" || fail "parallel good request $i: $(cat "$TMP/par$i.out")"
done
pass "20 good requests succeed amid 20 bad ones"

# --- The resolver itself fails (nothing listens where it sends queries): 0x04,
# while IP literals still work.
stop_pid "$GW_PID"
gw_start --dns-server 127.0.0.1:5353 --connect-timeout 5
GOOD_DST=$S4_ADDR
expect_rep 04 "DNS server unreachable" web4.test 7
# The refused query ends the lookup: no resolver timeout was waited for.
wait_log "$GW_LOG" 'dest=web4.test:7 .*\(rep 0x04\)'
assert_not_contains "$(grep 'dest=web4.test:7 ' "$GW_LOG")" "timed out" "DNS failure is not a timeout"
out=$(probe "${P4[@]}" connect "$S4_ADDR" 7 send:lit recv:3)
assert_contains "$out" "data lit" "IP literals need no DNS"

kill -0 "$GW_PID" 2>/dev/null || fail "gateway died"
if grep -E 'AddressSanitizer|runtime error|LeakSanitizer' "$GW_LOG"; then
	fail "sanitizer report in the gateway log"
fi
pass "gateway alive, no sanitizer reports"
