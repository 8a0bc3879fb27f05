#!/bin/bash
# test_agent_dns_slow.sh — slow TCP DNS clients (slowloris) neither lock fresh clients out nor stay for ever.
. "$(dirname "$0")/lib.sh"

Q=$ITEST_DIR/agent_dns_query.py
CTL=$TMP/agent.sock
SLOW=75

topo_up
gw_start
CG=$(cg_make apps)
agent_spawn "$NS_C4" dns "$CTL" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG" --no-pin \
	--fake-state "$TMP/fakeip.state" --dns-upstream "$GW4_ADDR" --log-level debug
DNS_PORT=$("$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" dns_port) || fail "no status from the agent"

q() { nsx "$NS_C4" "$PY" "$Q" "$@"; }

log "$SLOW slow clients (more than the responder's TCP slots) announce a 256-byte query and send one byte a second"
# Each keeps trickling for up to 30 s: only a deadline that bytes do not extend cuts them.
SPAWN_NAME=slow spawn "$NS_C4" "$PY" -u "$ITEST_DIR/slow_clients.py" --prefix 0100 --interval 1 \
	--duration 30 --ready "$TMP/slow.ready" 127.0.0.1 "$DNS_PORT" "$SLOW"
SLOW_PID=$SPAWNED_PID SLOW_LOG=$SPAWNED_LOG
wait_for 20 test -s "$TMP/slow.ready" || fail "slow clients did not connect: $(cat "$SLOW_LOG")"
pass "$SLOW slow clients connected"

log "fresh TCP queries while the slow clients hold the slots"
ok=0
for i in $(seq 12); do
	r=$(q --tcp 127.0.0.1 "$DNS_PORT" "fresh$i.test" A 2>&1)
	case $r in "rcode=0 "*"id=ok question=ok ans=198.1"*) ok=$((ok + 1)) ;; *) echo "    query $i: ${r##*$'\n'}" ;; esac
done
assert_eq "$ok" 12 "every fresh TCP query is answered (the oldest slow client gives up its slot)"
r=$(q 127.0.0.1 "$DNS_PORT" fresh1.test A)
assert_contains "$r" "rcode=0 " "UDP is answered too"

log "the slow clients are cut though they keep sending"
wait "$SLOW_PID"
out=$(tail -n 1 "$SLOW_LOG")
echo "    $out"
assert_contains "$out" "closed $SLOW of $SLOW " "the responder closed every slow client before the clients gave up"
assert_contains "$(cat "$AGENT_LOG")" "gave no complete query in" "the deadline, not only eviction, closed some of them"
r=$(q --tcp 127.0.0.1 "$DNS_PORT" fresh1.test A)
assert_contains "$r" "rcode=0 " "TCP is answered after the flood"
exit 0
