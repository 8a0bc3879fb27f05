#!/bin/bash
# test_gw_fdreserve.sh — a low descriptor limit: many concurrent CONNECTs all served (or closed before the greeting), never failed for want of a descriptor; accepting pauses and resumes; the gateway serves afterwards.
. "$(dirname "$0")/lib.sh"
set -u

N=400
topo_up
echo_serve "$NS_S4" "$S4_ADDR" 7
# 256 descriptors for the whole gateway: far fewer than N clients need (two each at least).
GW_EXEC="prlimit --nofile=256:256" gw_start --threads 2 --connect-timeout 30 --handshake-timeout 30
wait_log "$GW_LOG" 'descriptor limit 256: [0-9]+ sessions per thread'
pass "the gateway split its limit: $(grep -o 'descriptor limit 256: [0-9]* sessions per thread' "$GW_LOG")"

# The clients raise their own limit: each holds one socket to the gateway.
out=$(nsx "$NS_C4" prlimit --nofile=4096:4096 "$PY" "$ITEST_DIR/socks5_crowd.py" -t 90 --hold 0.3 \
	"$GW4_ADDR" "$GW_PORT" "$S4_ADDR" 7 "$N")
log "$(echo "$out" | tr '\n' ' ')"
relayed=$(echo "$out" | awk '$2 == "relayed" { print $3 }')
early=$(echo "$out" | awk '$2 == "closed-early" { print $3 }')
assert_eq "$((${relayed:-0} + ${early:-0}))" "$N" "every client relayed or closed before the greeting"
assert_not_contains "$out" "rep-01" "no general-failure reply"
grep -q 'Too many open files' "$GW_LOG" && fail "out of descriptors: $(grep -m 3 'Too many open files' "$GW_LOG")"
pass "the gateway never ran out of descriptors"
wait_log "$GW_LOG" 'sessions here, [0-9]+ in all use the descriptor limit; accepting waits until one ends'
pass "accepting paused when the share was taken"

out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "$GW4_ADDR" "$GW_PORT" connect "$S4_ADDR" 7 send:after recv:5)
assert_contains "$out" "data after" "the gateway serves again afterwards"

log "a thread past its share goes on while the process has room"
# SO_REUSEPORT spreads clients over the two threads by hash: holding exactly the process's
# sessions at once needs one thread to take more than its half, almost always.
SPAWN_NAME=sink spawn "$NS_S4" "$S46_TOOLS/s46sink" --listen "$S4_ADDR:7100"
wait_port "$NS_S4" "$S4_ADDR" 7100
per=$(grep -o 'descriptor limit 256: [0-9]* sessions per thread' "$GW_LOG" | awk '{print $4}')
cap=$((per * 2))
out=$(nsx "$NS_C4" prlimit --nofile=4096:4096 "$S46_TOOLS/s46bench" idle --target "$S4_ADDR:7100" \
	--socks "$GW4_ADDR:$GW_PORT" --count "$cap" --conc 64 --hold 1 --timeout 30 2>&1)
assert_contains "$out" "mode=idle-verify established=$cap dropped=0 verified=$cap failed=0 errors=0" \
	"$cap connections (2 x $per) held and relaying at once"
