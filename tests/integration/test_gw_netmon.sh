#!/bin/bash
# test_gw_netmon.sh — the gateway follows addresses and routes added and removed while it runs: fail fast without a route, use new ones without a restart.
. "$(dirname "$0")/lib.sh"

topo_up
echo_serve "$NS_S4" "$S4_ADDR" 7
echo_serve "$NS_S6" "$S6_ADDR" 7
ECHO6_LOG=$SPAWNED_LOG
SPAWN_NAME=uecho4 spawn "$NS_S4" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S4_ADDR" 7
# A long Happy Eyeballs delay: waiting on a family without a route would show.
gw_start --he-delay 3000 --connect-timeout 8 --listen "[::]:1081"
wait_port "$NS_GW" :: 1081

probe() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "$GW4_ADDR" "$GW_PORT" connect "$@"; }

# timed DST REP WHAT [MAX_MS]: a CONNECT that answers REP within MAX_MS (default 1000), as
# the gateway's own log line counts it (a client's start-up time on a loaded machine is not
# the gateway's).
timed()
{
	local dst=$1 rep=$2 what=$3 max=${4:-1000} n0 out ms
	n0=$(log_count "$GW_LOG" "dest=$dst:7 ")
	out=$(probe "$dst" 7 send:ok recv:2)
	assert_contains "$out" "reply $rep" "$what: REP $rep"
	wait_log "$GW_LOG" "dest=$dst:7 " $((n0 + 1)) 5
	ms=$(grep -E "dest=$dst:7 " "$GW_LOG" | tail -n 1 | sed -n 's/.* ms=\([0-9]*\) .*/\1/p')
	[ -n "$ms" ] || fail "$what: no log line for $dst"
	[ "$ms" -lt "$max" ] || fail "$what took $ms ms (limit $max)"
	pass "$what: answered in $ms ms"
}

# logged TEXT [N]: the gateway logged TEXT N times by now (netmon logs each change it sees).
logged()
{
	wait_log "$GW_LOG" "$1" "${2:-1}" 5
	pass "logged: $1"
}

timed web6.test 00 "baseline web6.test over IPv6"
timed dual.test 00 "baseline dual.test"
grep 'dest=dual.test:7' "$GW_LOG" | tail -n 1 | grep -qF "via=[$S6_ADDR]:7" || fail "dual.test not over IPv6"

# --- The gateway's IPv6 address on the server link goes away (its connected route with it).
ip -n "$NS_GW" addr del "$GW_S6_ADDR/64" dev s6 || fail "addr del"
logged "netmon: address $GW_S6_ADDR/64 removed dev s6"
logged "netmon: route 2001:db8:6::/64 removed dev s6"
timed web6.test 03 "web6.test (IPv6 only) with no IPv6 route: network unreachable at once"
timed dual.test 00 "dual.test with no IPv6 route: IPv4 at once, no Happy Eyeballs wait"
grep 'dest=dual.test:7' "$GW_LOG" | tail -n 1 | grep -qF "via=$S4_ADDR:7" || fail "dual.test not over IPv4"
pass "dual.test went over IPv4"

# --- A new address arrives (as SLAAC would add one): used at once, no restart.
ip -n "$NS_GW" addr add 2001:db8:6::5/64 dev s6 nodad || fail "addr add"
logged "netmon: address 2001:db8:6::5/64 added dev s6"
timed web6.test 00 "web6.test reachable again through the new address"
grep -q "^conn 2001:db8:6::5 " "$ECHO6_LOG" || fail "s6 did not see the new source address: $(tail -n 3 "$ECHO6_LOG")"
pass "the server saw the connection come from the new address 2001:db8:6::5"

# --- Only the route goes (the address stays), then comes back.
ip -n "$NS_GW" -6 route del 2001:db8:6::/64 dev s6 || fail "route del"
logged "netmon: route 2001:db8:6::/64 removed dev s6" 2
timed web6.test 03 "web6.test with the route removed: 0x03 at once"
ip -n "$NS_GW" -6 route add 2001:db8:6::/64 dev s6 || fail "route add"
logged "netmon: route 2001:db8:6::/64 added dev s6" 2
timed web6.test 00 "web6.test after the route came back"

# --- An unreachable route is the routing table's answer, not a connect attempt's.
ip -n "$NS_GW" route add unreachable "$S4_ADDR/32" || fail "unreachable route"
logged "netmon: route $S4_ADDR/32 added"
timed web4.test 03 "web4.test behind an unreachable route: 0x03"
ip -n "$NS_GW" route del unreachable "$S4_ADDR/32"
logged "netmon: route $S4_ADDR/32 removed"
timed web4.test 00 "web4.test after the unreachable route went"

# --- UDP ASSOCIATE on an address added after start: BND.ADDR is that address, and it relays.
ip -n "$NS_GW" addr add 2001:db8:c6::5/64 dev c6 nodad || fail "addr add c6"
logged "netmon: address 2001:db8:c6::5/64 added dev c6"
out=$(nsx "$NS_C6" "$PY" "$ITEST_DIR/socks5_udp.py" 2001:db8:c6::5 1081 echo "$S4_ADDR" 7 via-new)
assert_contains "$out" "bnd 2001:db8:c6::5 " "UDP reply address is the address added after start"
assert_contains "$out" "from $S4_ADDR 7 via-new" "datagrams relayed through the new address"
# Datagrams to a destination with no route are dropped at the gateway.
ip -n "$NS_GW" route add unreachable "$S4_ADDR/32"
logged "netmon: route $S4_ADDR/32 added" 2
out=$(nsx "$NS_C6" "$PY" "$ITEST_DIR/socks5_udp.py" -t 0.5 2001:db8:c6::5 1081 echo "$S4_ADDR" 7 dropped)
assert_contains "$out" "timeout" "no datagram relayed towards an unreachable route"

# --- --listen-freebind yes: listen addresses that appear after start (IP_FREEBIND / IPV6_FREEBIND).
SPAWN_NAME=gwlate spawn "$NS_GW" "$S46_BIN" gateway --listen-freebind yes --listen 198.51.100.7:1082 \
	--listen "[2001:db8:c6::7]:1082" --threads 2
LATE_PID=$SPAWNED_PID
LATE_LOG=$SPAWNED_LOG
wait_port "$NS_GW" 198.51.100.7 1082
wait_port "$NS_GW" 2001:db8:c6::7 1082
kill -0 "$LATE_PID" || fail "gateway on addresses not configured yet did not start: $(cat "$LATE_LOG")"
pass "gateway started listening on addresses the host does not have"
n=$(grep -c 'not an address of this host yet' "$LATE_LOG")
[ "$n" -eq 2 ] || fail "want one warning per listen address, got $n: $(cat "$LATE_LOG")"
pass "one warning per address not configured yet"
out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 1 198.51.100.7 1082 connect "$S4_ADDR" 7 2>&1)
assert_not_contains "$out" "reply 00" "nothing answers before the address exists"
ip -n "$NS_GW" addr add 198.51.100.7/24 dev c4 || fail "addr add c4"
ip -n "$NS_GW" addr add 2001:db8:c6::7/64 dev c6 nodad || fail "addr add c6"
out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 5 198.51.100.7 1082 connect web6.test 7 send:late4 recv:5)
assert_contains "$out" "reply 00" "CONNECT through an IPv4 listen address added after start"
assert_contains "$out" "data late4" "and data relayed"
out=$(nsx "$NS_C6" "$PY" "$ITEST_DIR/socks5_probe.py" -t 5 2001:db8:c6::7 1082 connect web6.test 7 send:late6 recv:5)
assert_contains "$out" "reply 00" "CONNECT through an IPv6 listen address added after start"
assert_contains "$out" "data late6" "and data relayed"
kill -0 "$GW_PID" || fail "gateway died"
pass "gateway still running"
