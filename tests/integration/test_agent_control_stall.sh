#!/bin/bash
# test_agent_control_stall.sh — control clients that never read their reply do not stall DNS; they are closed.
. "$(dirname "$0")/lib.sh"

CTL=$TMP/agent.sock
NAMES=8000
STALLED=5

topo_up
gw_start
CG=$(cg_make apps)
agent_spawn "$NS_C4" ctl "$CTL" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG" --no-pin \
	--fake-state "$TMP/fakeip.state" --dns-upstream "$GW4_ADDR"
DNS_PORT=$("$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" dns_port) || fail "no status from the agent"

log "$NAMES names through the responder, then $STALLED 'status' clients that never read, while DNS is queried"
SPAWN_NAME=stall spawn "$NS_C4" "$PY" -u "$ITEST_DIR/control_stall.py" --fill "$NAMES" "$CTL" "$STALLED" "$DNS_PORT"
STALL_PID=$SPAWNED_PID STALL_LOG=$SPAWNED_LOG
wait_log "$STALL_LOG" "^stalled $STALLED" 1 60
st=$("$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" 2>&1) || fail "no status reply while the stalled clients wait: ${st##*$'\n'}"
size=${#st}
[ "$size" -gt 500000 ] || fail "status is only $size bytes: it fits in the socket buffers"
pass "a status client that reads still gets its reply ($size bytes) during the stall"

wait "$STALL_PID"
sed 's/^/    /' "$STALL_LOG"
read -r _ asked _ answered _ < <(grep '^queries ' "$STALL_LOG")
[ -n "$asked" ] && [ "$asked" -gt 0 ] || fail "no queries made"
assert_eq "$answered" "$asked" "every DNS query during the stall is answered within 1 s"
assert_contains "$(cat "$STALL_LOG")" "stalled closed $STALLED of $STALLED " "the agent closed every client that did not read"
wait_log "$AGENT_LOG" "control: a client read [0-9]+ of the [0-9]+ bytes of its reply in 10 s, closed" "$STALLED"
pass "and logged why"

log "the client bound: 40 clients that send nothing, more than the agent keeps"
SPAWN_NAME=many spawn "$NS_C4" "$PY" -u "$ITEST_DIR/control_stall.py" --request "" "$CTL" 40 "$DNS_PORT"
MANY_PID=$SPAWNED_PID MANY_LOG=$SPAWNED_LOG
wait "$MANY_PID"
assert_contains "$(cat "$MANY_LOG")" "stalled closed 40 of 40 " "every silent client is closed"
assert_eq "$(log_count "$AGENT_LOG" "control: 32 clients, closing the oldest")" 8 \
	"the 8 oldest made room for newer ones, and the agent said so"
"$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" dns_port >/dev/null || fail "status after the floods"
pass "status answers after the floods"
exit 0
