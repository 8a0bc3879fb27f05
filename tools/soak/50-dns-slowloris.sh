#!/bin/bash
# 50-dns-slowloris.sh — 70 TCP DNS clients trickling a byte every 4 s; fresh TCP queries meanwhile.
# Sourced by tools/soak.sh. SOAK_SLOW: how many slow clients (default 70).
N=${SOAK_SLOW:-70}

soak_gw
soak_agent slow --log-level debug
SPAWN_NAME=slow spawn "$NS_C4" "$PY" -u "$ITEST_DIR/slow_clients.py" --prefix 0100 --interval 4 \
	--duration 40 --ready "$TMP/slow.ready" 127.0.0.1 "$DNS_PORT" "$N"
SLOW_PID=$SPAWNED_PID SLOW_LOG=$SPAWNED_LOG
wait_for 30 test -s "$TMP/slow.ready" || fail "the slow clients did not connect"
soak_say "flood: $(cat "$TMP/slow.ready") slow clients (a 256-byte query announced, one byte each 4 s)"
ok=0 times=()
for i in $(seq 12); do
	t0=$(soak_ms)
	r=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/agent_dns_query.py" --tcp 127.0.0.1 "$DNS_PORT" "soak$i.test" A 2>&1)
	case $r in "rcode=0 "*) ok=$((ok + 1)) times+=("$(($(soak_ms) - t0))") ;; *) times+=(fail) ;; esac
done
soak_say "during: fresh TCP queries $ok/12 answered, ms (with python start-up): ${times[*]}"
wait "$SLOW_PID"
soak_say "flood: $(tail -n 1 "$SLOW_LOG") (seconds from connect to the agent's close)"
soak_say "agent log: $(grep -c 'gave no complete query' "$AGENT_LOG") cut at the deadline," \
	"$(grep -c 'dropping the oldest' "$AGENT_LOG") slots taken over for new clients"
