#!/bin/bash
# 10-halfhandshakes.sh — 10,000 idle half-handshakes against the gateway; a normal client meanwhile.
# Sourced by tools/soak.sh. SOAK_HALF: how many (default 10000).
N=${SOAK_HALF:-10000}

soak_gw
soak_curl before 3
SPAWN_NAME=half spawn "$NS_C4" "$PY" -u "$ITEST_DIR/slow_clients.py" --prefix 05 --interval 0 \
	--duration 60 --ready "$TMP/half.ready" "$GW4_ADDR" "$GW_PORT" "$N"
HALF_PID=$SPAWNED_PID HALF_LOG=$SPAWNED_LOG
wait_for 120 test -s "$TMP/half.ready" || fail "the flood did not connect: $(cat "$HALF_LOG")"
soak_say "flood: $(cat "$TMP/half.ready") half-handshakes (one byte of a greeting each);" \
	"the gateway holds $(soak_fds "$GW_PID") descriptors"
soak_curl during 5
wait "$HALF_PID"
soak_say "flood: $(tail -n 1 "$HALF_LOG") (seconds from connect to the gateway's close)"
soak_say "the gateway holds $(soak_fds "$GW_PID") descriptors"
soak_curl after 3
