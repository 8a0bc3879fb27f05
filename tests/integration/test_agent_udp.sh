#!/bin/bash
# test_agent_udp.sh — transparent UDP: programs in an attached cgroup exchange datagrams with servers of the other family by name, through the gateway's UDP ASSOCIATE.
. "$(dirname "$0")/lib.sh"

topo_up
SPAWN_NAME=uecho6 spawn "$NS_S6" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S6_ADDR" 7
SPAWN_NAME=uecho6b spawn "$NS_S6" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S6_ADDR" 9
SPAWN_NAME=uecho4 spawn "$NS_S4" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S4_ADDR" 7
# A second resolver on the far side, reached by a program at a fake address.
dns_serve "$NS_S6" "$S6_ADDR" "host-record=far.example,203.0.113.99"
gw_start
CG4=$(cg_make app4)
agent_spawn "$NS_C4" a4 "$TMP/a4.sock" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG4" --no-pin \
	--fake-state none --dns-upstream "$GW4_ADDR"
A4_LOG=$AGENT_LOG
CG6=$(cg_make app6)
agent_spawn "$NS_C6" a6 "$TMP/a6.sock" --gateway "[$GW6_ADDR]:$GW_PORT" --cgroup "$CG6" --no-pin \
	--fake-state none --dns-upstream "$GW6_ADDR" --nat64-prefix 64:ff9b::/96
A6_LOG=$AGENT_LOG

u4() { IN_CG=$CG4 nsx "$NS_C4" "$PY" "$ITEST_DIR/udp_fake.py" "$@"; }
u6() { IN_CG=$CG6 nsx "$NS_C6" "$PY" "$ITEST_DIR/udp_fake.py" --family inet6 "$@"; }

log "c4: an IPv4-only program and the IPv6-only s6, by name, unconnected"
out=$(u4 web6.test 7) || fail "unconnected sendto web6.test: $out"
assert_contains "$out" "ok web6.test 198.1" "the reply came from the fake address and port sent to"
out=$(u4 web6.test 7 dual.test 9 web4.test 7) || fail "several destinations from one socket: $out"
assert_contains "$out" "ok dual.test " "one socket, second destination"
assert_contains "$out" "ok web4.test " "one socket, third destination (IPv4 server)"

log "c4: connected, datagrams of 1,472 bytes, 200 in a row"
out=$(u4 --connect web6.test 7) || fail "connected: $out"
pass "connect + send/recv; getpeername shows the fake address"
out=$(u4 --size 1472 --count 3 web6.test 7) || fail "1472-byte datagrams: $out"
pass "1,472-byte datagrams pass unchanged both ways"
out=$(u4 --count 200 web6.test 9) || fail "200 datagrams: $out"
pass "200 datagrams one after another, each answered"

log "c4: bursts of datagrams: trains between the agent and the gateway (UDP_SEGMENT, UDP_GRO)"
out=$(u4 --burst --size 1200 --count 64 web6.test 7) || fail "a burst of 64: $out"
pass "64 datagrams sent at once (some shorter) all came back, each from the fake address"
out=$(u4 --connect --burst --size 1472 --count 48 web4.test 7) || fail "a burst of 48: $out"
pass "48 datagrams of 1,472 bytes at once on a connected socket all came back"

log "c4: a dual-stack AF_INET6 socket sending to v4-mapped fake addresses"
out=$(u4 --family mapped web6.test 7 web4.test 7) || fail "mapped: $out"
assert_contains "$out" "ok web6.test ::ffff:198.1" "recvfrom shows the v4-mapped fake address"
out=$(u4 --family mapped --connect web6.test 7) || fail "mapped connected: $out"
pass "connected dual-stack socket to a v4-mapped fake address"

log "c4: socat, an unmodified program"
out=$(printf 'socat-hello\n' | IN_CG=$CG4 nsx "$NS_C4" timeout 10 socat -t 3 - UDP4:web6.test:7) ||
	fail "socat UDP4:web6.test:7"
assert_eq "$out" "socat-hello" "socat got its datagram back from s6"

log "c4: DNS to a resolver behind a fake address goes through the gateway"
out=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" -c 'import socket; print(socket.gethostbyname("web6.test"))')
r=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" "$ITEST_DIR/agent_dns_query.py" "$out" 53 far.example A)
assert_contains "$r" "rcode=0 " "the far resolver answered"
assert_contains "$r" "ans=203.0.113.99 " "with its own record (not the agent's responder)"

log "c6: an IPv6-only program and the IPv4-only s4, by name"
out=$(u6 --burst --size 1200 --count 64 web4.test 7) || fail "a burst of 64: $out"
pass "IPv6: 64 datagrams sent at once all came back"
out=$(u6 web4.test 7) || fail "unconnected sendto web4.test: $out"
assert_contains "$out" "ok web4.test 2001:2:" "the reply came from the fake IPv6 address and port sent to"
out=$(u6 web4.test 7 web6.test 9 dual.test 7) || fail "several destinations from one socket: $out"
assert_contains "$out" "ok web6.test " "one socket, second destination"
assert_contains "$out" "ok dual.test " "one socket, third destination"
out=$(u6 --connect web4.test 7) || fail "connected: $out"
pass "connect + send/recv; getpeername shows the fake IPv6 address"
out=$(u6 --size 1472 --count 3 web4.test 7) || fail "1472-byte datagrams: $out"
pass "1,472-byte datagrams pass unchanged both ways"
out=$(u6 --connect --count 200 web4.test 7) || fail "200 datagrams: $out"
pass "200 datagrams one after another on a connected socket, each answered"
out=$(u6 "64:ff9b::$S4_ADDR" 7) || fail "NAT64: $out"
pass "the NAT64 address 64:ff9b::$S4_ADDR reaches s4"
out=$(printf 'socat-hello6\n' | IN_CG=$CG6 nsx "$NS_C6" timeout 10 socat -t 3 - UDP6:web4.test:7) ||
	fail "socat UDP6:web4.test:7"
assert_eq "$out" "socat-hello6" "socat got its datagram back from s4"
assert_not_contains "$(cat "$A6_LOG")" "refused" "the c6 agent carries IPv6 UDP"

log "what cannot be carried is dropped and counted"
d0=$("$S46_BIN" status --control "$TMP/a4.sock" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["udp"]["no_name"])')
out=$(u4 -t 1 198.18.3.3 7) && fail "a datagram to a fake address no name is behind was answered: $out"
st=$("$S46_BIN" status --control "$TMP/a4.sock" --json)
n=$(printf '%s' "$st" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["udp"]["no_name"])')
assert_eq "$n" $((d0 + 1)) "the datagram to 198.18.3.3 (no name behind it) was dropped and counted"

log "status shows a program's UDP flows while its socket is open; they end when it closes it"
u4 --count 3 --hold "$TMP/hold" web6.test 9 >"$TMP/hold.out" 2>&1 &
HOLD=$!
for _ in $(seq 100); do
	[ -s "$TMP/hold" ] && break
	kill -0 "$HOLD" 2>/dev/null || break
	sleep 0.1
done
[ -s "$TMP/hold" ] || fail "the program holding its socket did not get going: $(cat "$TMP/hold.out")"
port=$(cat "$TMP/hold")
st=$("$S46_BIN" status --control "$TMP/a4.sock") || fail "status"
flows=$(printf '%s\n' "$st" | sed -n '/^udp flows/,/^$/p')
assert_contains "$flows" "web6.test:9" "status lists the UDP flow to web6.test:9 beside the connections"
assert_contains "$flows" "127.0.0.1:$port " "with the program's socket (port $port)"
assert_contains "$flows" "datagrams up " "status shows the datagram counters"
js=$("$S46_BIN" status --control "$TMP/a4.sock" --json) || fail "status --json"
up=$(printf '%s' "$js" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["udp"]["up"])')
[ "$up" -ge 200 ] || fail "udp up counter $up"
pass "status --json counts $up datagrams up"
flows_of() {
	"$S46_BIN" status --control "$TMP/a4.sock" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for f in d["udp_flows"] if f["client"].endswith(":" + sys.argv[1])), d["udp"]["closed"])' "$1"
}
read -r n closed0 <<<"$(flows_of "$port")"
assert_eq "$n" 1 "one flow of that socket before it closes"
gw0=$(grep -c "udp client=" "$GW_LOG")
rm "$TMP/hold"
wait "$HOLD" || fail "the holding program failed: $(cat "$TMP/hold.out")"
# The idle timeout is 60 s: a flow still there after 10 s has not been ended by the close.
for _ in $(seq 100); do
	read -r n closed <<<"$(flows_of "$port")"
	[ "$n" = 0 ] && break
	sleep 0.1
done
assert_eq "$n" 0 "the flow left status when the program closed its socket (well before the idle timeout)"
assert_eq "$closed" $((closed0 + 1)) "the udp.closed counter counts it"
for _ in $(seq 100); do
	[ "$(grep -c "udp client=" "$GW_LOG")" -gt "$gw0" ] && break
	sleep 0.1
done
[ "$(grep -c "udp client=" "$GW_LOG")" -gt "$gw0" ] ||
	fail "the gateway did not end the association"
pass "the gateway ended its association: $(grep "udp client=" "$GW_LOG" | tail -n 1 | sed 's/.*info: //')"
assert_not_contains "$(cat "$A4_LOG")" "no original destination" "every datagram had its destination"
assert_not_contains "$(cat "$A4_LOG")" "lacks cgroup/sock_release" "this kernel tells the agent of released sockets"
exit 0
