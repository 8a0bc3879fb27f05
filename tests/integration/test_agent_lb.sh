#!/bin/bash
# test_agent_lb.sh — an agent spreads connections over three gateways by policy, skips a dead one and takes it back; a dying gateway costs only its own connections.
. "$(dirname "$0")/lib.sh"

NAMES=()
for i in $(seq 0 29); do
	NAMES+=("site$i.test")
	DNS_EXTRA+=("host-record=site$i.test,$S4_ADDR")
done
DNS_EXTRA+=("host-record=echo.test,$S4_ADDR")
topo_up
mkdir -p "$TMP/www"
printf 'the same page behind every name\n' >"$TMP/www/index.html"
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www"
echo_serve "$NS_S4" "$S4_ADDR" 7

# Three gateways in gw, on ports 1081..1083 of the same address.
GWS="a b c"
declare -A GW_PID GW_LOG GW_PORTOF=([a]=1081 [b]=1082 [c]=1083)
gw_up()
{
	s46_spawn "$NS_GW" "gw-$1" "$GW4_ADDR" "${GW_PORTOF[$1]}"
	GW_PID[$1]=$SPAWNED_PID
	GW_LOG[$1]=$SPAWNED_LOG
}
for g in $GWS; do gw_up "$g"; done
# Logs of a gateway that was restarted: the old ones count too.
gw_logs() { ls "$TMP"/*-gw-"$1".log; }

CG=$(cg_make app)
CONF=$TMP/agent.conf
CTL=$TMP/a.sock
HEALTH_MS=1000
conf()
{
	{
		for g in $GWS; do printf 'gateway %s:%s\n' "$GW4_ADDR" "${GW_PORTOF[$g]}"; done
		printf 'cgroup %s\ndns-upstream %s\nfake-state %s\nno-pin\n' "$CG" "$GW4_ADDR" \
			"$TMP/fakeip.state"
		printf 'gateway-policy %s\nhealth-interval %s\n' "$1" "$HEALTH_MS"
	} >"$CONF.new"
	mv "$CONF.new" "$CONF"
}
ctl() { "$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" "$@"; }
reloads=0
policy()
{
	conf "$1"
	kill -HUP "$AGENT_PID" || fail "SIGHUP to the agent"
	reloads=$((reloads + 1))
	wait_log "$AGENT_LOG" 'reloaded configuration|keeping the previous configuration' "$reloads"
	assert_eq "$(ctl gateway_policy)" "$1" "status: policy $1"
}

# glog G: everything gateway G logged, over its restarts.
glog() { cat $(ls -v "$TMP"/*-gw-"$1".log); }
# snap: where every gateway's log is now; delta G [REGEX]: G's connections since then
# (to site names by default).
declare -A BASE
snap() { for g in $GWS; do BASE[$g]=$(glog "$g" | wc -l); done; }
delta() { glog "$1" | tail -n +$((BASE[$1] + 1)) | grep -cE -- "conn client=.* dest=${2:-site[0-9]+\.test:80} "; }
total() { echo $(($(delta a) + $(delta b) + $(delta c))); }
# fetch N: N fetches by name from the cgroup (the 30 names in turn); none may fail.
# Waits until the gateways logged them all (a connection is logged when it ends).
fetch()
{
	local n=$1 before out
	before=$(total)
	out=$(IN_CG=$CG nsx "$NS_C4" "$PY" "$ITEST_DIR/lb_client.py" fetch "$n" "$TMP/www/index.html" \
		"${NAMES[@]}") || fail "lb_client: $out"
	assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "ok $n failed 0" "$n fetches by name, none failed"
	_logged() { [ "$(total)" -ge $((before + n)) ]; }
	wait_for 20 _logged || fail "the gateways logged $(($(total) - before)) of $n connections"
}
# hold N: N echo connections held open in the background; HOLD_OUT, HOLD_GO.
holds=0
hold()
{
	holds=$((holds + 1))
	HOLD_OUT=$TMP/hold$holds.out HOLD_GO=$TMP/hold$holds.go
	IN_CG=$CG nsx "$NS_C4" "$PY" "$ITEST_DIR/lb_client.py" hold "$1" echo.test 7 "$HOLD_GO" \
		>"$HOLD_OUT" 2>&1 &
	HOLD_PID=$!
	_held() { grep -q "^held $1" "$HOLD_OUT"; }
	wait_for 30 _held "$1" || fail "holding $1 connections: $(cat "$HOLD_OUT")"
}
# release: the held connections echo once more; HELD is then "alive K dead D".
release()
{
	touch "$HOLD_GO"
	wait "$HOLD_PID"
	HELD=$(tail -n 1 "$HOLD_OUT")
}
spread() { printf 'a=%s b=%s c=%s' "$(delta a)" "$(delta b)" "$(delta c)"; }
# between V LO HI MSG
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || fail "$4: $1 not in $2..$3"; pass "$4: $1"; }

conf failover
agent_spawn "$NS_C4" a "$CTL" --config "$CONF"
wait_for 10 sh -c "[ \"\$($PY $ITEST_DIR/agent_ctl.py $CTL gateways.2.up)\" = True ]" ||
	fail "the health checks do not bring the gateways up"

log "failover: the first gateway takes everything"
snap
fetch 300
assert_eq "$(spread)" "a=300 b=0 c=0" "failover: 300 connections on the first gateway"

log "round-robin: the gateways take turns"
policy round-robin
snap
fetch 300
for g in $GWS; do between "$(delta $g)" 90 110 "round-robin: gateway $g's share of 300"; done

log "hash: a name stays on one gateway; the names spread over all three"
policy hash
snap
fetch 300
for g in $GWS; do between "$(delta $g)" 10 250 "hash: gateway $g's share of 300"; done
for n in "${NAMES[@]}"; do
	k=0
	for g in $GWS; do [ "$(delta $g "${n//./\\.}:80")" -gt 0 ] && k=$((k + 1)); done
	[ "$k" = 1 ] || fail "hash: $n went to $k gateways"
done
pass "hash: each of the 30 names went to exactly one gateway, 10 times"

log "least-conns: 30 connections held on the first gateway send new ones to the others"
policy failover
hold 30
assert_eq "$(ctl gateways.0.inflight)" 30 "status: 30 connections in flight on the first gateway"
policy least-conns
assert_eq "$(ctl gateways.0.inflight)" 30 "the count carries over the reload"
snap
fetch 300
assert_eq "$(delta a)" 0 "least-conns: none on the busy gateway"
for g in b c; do between "$(delta $g)" 140 160 "least-conns: gateway $g's share of 300"; done
release
assert_eq "$HELD" "alive 30 dead 0" "the held connections still echo"
_idle() { [ "$(ctl gateways.0.inflight)" = 0 ]; }
wait_for 10 _idle || fail "in flight on the first gateway after the release: $(ctl gateways.0.inflight)"
pass "status: none in flight once they closed"

log "a dead gateway is skipped at once and marked down by its health check"
policy round-robin
stop_pid "${GW_PID[b]}"
snap
fetch 300
assert_eq "$(delta b)" 0 "nothing reached the stopped gateway"
for g in a c; do between "$(delta $g)" 140 160 "dead b: gateway $g's share of 300"; done
wait_log "$AGENT_LOG" "gateway $GW4_ADDR:1082 failed its health check"
assert_eq "$(ctl gateways.1.up)" False "status: the health check set the stopped gateway down"
out=$("$S46_BIN" status --control "$CTL" 2>&1) || fail "socks46 status: $out"
assert_contains "$out" "gateways (round-robin):" "status text names the policy"
assert_contains "$out" "$GW4_ADDR:1082" "status text lists the stopped gateway"
printf '%s\n' "$out" | grep -E "$GW4_ADDR:1082 +down, [0-9]+ failures, 0 in flight" >/dev/null ||
	fail "status text: $(printf '%s\n' "$out" | grep 1082)"
pass "status text: $(printf '%s\n' "$out" | grep 1082 | tr -s ' ')"

log "the gateway comes back: its health check brings it into use"
gw_up b
# Within one interval (the log wait allows 10 s for a 1 s interval).
wait_log "$AGENT_LOG" "gateway $GW4_ADDR:1082 answers again: back in use"
assert_eq "$(ctl gateways.1.up)" True "status: the restarted gateway is up again"
snap
fetch 300
for g in $GWS; do between "$(delta $g)" 90 110 "recovered: gateway $g's share of 300"; done

log "a gateway that dies mid-run costs only the connections on it"
hold 30
assert_eq "$(ctl gateways.2.inflight)" 10 "status: 10 of 30 in flight on the third gateway"
stop_pid "${GW_PID[c]}" KILL
release
assert_eq "$HELD" "alive 20 dead 10" "the 20 on the other gateways carry on, the 10 on it fail"
snap
fetch 60
assert_eq "$(delta c)" 0 "new connections avoid the dead gateway"
for g in a b; do between "$(delta $g)" 25 35 "after c died: gateway $g's share of 60"; done
tot=$(ctl gateways.0.total)
[ "$tot" -gt 0 ] || fail "status: total connections of the first gateway: $tot"
pass "status: the first gateway carried $tot connections in all"
exit 0
