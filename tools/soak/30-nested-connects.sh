#!/bin/bash
# 30-nested-connects.sh — one connection carrying 12,000 nested CONNECTs to the gateway itself; a normal client meanwhile.
# Sourced by tools/soak.sh. SOAK_NESTED: how many levels (default 12000); SOAK_HOLD: seconds held (default 20).
N=${SOAK_NESTED:-12000}
HOLD=${SOAK_HOLD:-20}

soak_gw
soak_curl before 2
base=$(soak_fds "$GW_PID")
SPAWN_NAME=nested spawn "$NS_C4" "$PY" -u "$SOAK_DIR/nested_connect.py" "$GW4_ADDR" "$GW_PORT" "$N" "$HOLD"
NEST_PID=$SPAWNED_PID NEST_LOG=$SPAWNED_LOG
peak=$base
while kill -0 "$NEST_PID" 2>/dev/null; do
	fds=$(soak_fds "$GW_PID")
	[ "$fds" -gt "$peak" ] && peak=$fds
	sleep 1
done
wait "$NEST_PID"
sed 's/^/flood: /' "$NEST_LOG" | while read -r l; do soak_say "$l"; done
soak_say "gateway descriptors: $base before, at most $peak during (sampled each second)"
grep -m 1 -E 'refus|loop|own listener' "$GW_LOG" | cut -c1-200 | while read -r l; do soak_say "gateway log: $l"; done
soak_curl "after the client left" 2
t0=$(soak_ms)
settled() { [ "$(soak_fds "$GW_PID")" -le $((base + 2)) ]; }
if wait_for 300 settled; then
	soak_say "the gateway was back to $(soak_fds "$GW_PID") descriptors $(($(soak_ms) - t0)) ms later"
else
	soak_say "the gateway still holds $(soak_fds "$GW_PID") descriptors after 300 s"
fi
