#!/bin/bash
# 40-control-stall.sh — 20,000 fake-IP entries, five `status` clients that never read; DNS latency meanwhile.
# Sourced by tools/soak.sh. SOAK_NAMES: fake-IP entries made first (default 20000).
N=${SOAK_NAMES:-20000}

soak_gw
soak_agent stall
out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/control_stall.py" --max 3 "$CTL" 0 "$DNS_PORT")
soak_say "before: $(printf '%s\n' "$out" | grep '^queries')"
SPAWN_NAME=stall spawn "$NS_C4" "$PY" -u "$ITEST_DIR/control_stall.py" --fill "$N" "$CTL" 5 "$DNS_PORT"
STALL_PID=$SPAWNED_PID STALL_LOG=$SPAWNED_LOG
wait_log "$STALL_LOG" '^stalled' 1 120
t0=$(soak_ms)
st=$("$PY" "$ITEST_DIR/agent_ctl.py" "$CTL") && soak_say "a status that reads: ${#st} bytes in $(($(soak_ms) - t0)) ms"
wait "$STALL_PID"
while read -r l; do soak_say "during: $l"; done <"$STALL_LOG"
grep 'control:' "$AGENT_LOG" | tail -n 2 | cut -c1-200 | while read -r l; do soak_say "agent log: $l"; done
