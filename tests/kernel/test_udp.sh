#!/bin/bash
# test_udp.sh — transparent UDP on this kernel: sendmsg4, connect4/6, recvmsg4/6 and getpeername steer datagrams to fake and policy addresses through the agent's forwarder and the gateway.
. "$(dirname "$0")/klib.sh"
ksetup
UF=$REPO/tests/integration/udp_fake.py
Q=$REPO/tests/integration/agent_dns_query.py
kspawn uecho4 "$PY" -u "$REPO/tests/integration/socks5_udp.py" serve 203.0.113.2 7
kspawn uecho6 "$PY" -u "$REPO/tests/integration/socks5_udp.py" serve 2001:db8:1::2 7
# A resolver at a server address: port 53 to a fake address must reach it, not the agent.
kspawn farns dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address=2001:db8:1::2 --user=root --pid-file="$TMP/farns.pid" \
	--host-record=far.example,203.0.113.99
agent_start --nat64-prefix 64:ff9b::/96

fake() { kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" "$1" 1 unconnected | tail -n 1; }
F6=$(fake web6.test)
F4=$(fake web4.test)
case $F6 in 198.1[89].*) ;; *) fail "no fake address for web6.test: $F6" ;; esac

log "sendmsg4 + recvmsg4: unconnected AF_INET socket, two destinations, replies from the fake addresses"
out=$(kin "$PY" "$UF" "$F6" 7 "$F4" 7) || fail "$out"
assert_contains "$out" "ok $F6 $F6 7" "reply to the IPv6 server shows $F6:7"
assert_contains "$out" "ok $F4 $F4 7" "reply to the IPv4 server shows $F4:7 on the same socket"
out=$(kin "$PY" "$UF" --size 1472 --count 20 "$F6" 7) || fail "$out"
pass "1,472-byte datagrams, 20 in a row"

log "connect4 + getpeername4: a connected AF_INET socket"
out=$(kin "$PY" "$UF" --connect "$F6" 7) || fail "$out"
pass "connected socket: getpeername and the replies show $F6:7"

log "sendmsg4/connect6 + recvmsg6: dual-stack AF_INET6 sockets to v4-mapped fake addresses"
out=$(kin "$PY" "$UF" --family mapped "$F6" 7) || fail "$out"
assert_contains "$out" "ok $F6 ::ffff:$F6 7" "reply shows ::ffff:$F6:7"
out=$(kin "$PY" "$UF" --family mapped --connect "$F4" 7) || fail "$out"
pass "connected dual-stack socket to ::ffff:$F4"

log "sendmsg6/connect6 + recvmsg6/getpeername6: AF_INET6 sockets to IPv6 fake addresses"
G6=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV6" web6.test 28 unconnected | tail -n 1)
G4=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV6" web4.test 28 unconnected | tail -n 1)
case $G4 in 2001:2:*) ;; *) fail "no fake IPv6 address for web4.test: $G4" ;; esac
out=$(kin "$PY" "$UF" --family inet6 "$G4" 7 "$G6" 7) || fail "$out"
assert_contains "$out" "ok $G4 $G4 7" "reply to the IPv4 server shows $G4 port 7"
assert_contains "$out" "ok $G6 $G6 7" "reply to the IPv6 server shows $G6 port 7 on the same socket"
out=$(kin "$PY" "$UF" --family inet6 --connect --size 1472 --count 5 "$G4" 7) || fail "$out"
pass "connected AF_INET6 socket: getpeername and the replies show $G4 port 7; 1,472 bytes"
out=$(kin "$PY" "$UF" --family inet6 64:ff9b::cb00:7102 7) || fail "$out"
assert_contains "$out" "ok 64:ff9b::cb00:7102 " "a NAT64 address (--nat64-prefix) goes through the gateway"

log "a policy address (--via-gateway 203.0.113.2/32) goes through the gateway too"
s0=$(jget counters.udp_steered)
f0=$(jget udp.flows)
out=$(kin "$PY" "$UF" 203.0.113.2 7) || fail "$out"
assert_contains "$out" "ok 203.0.113.2 203.0.113.2 7" "reply shows 203.0.113.2:7"
assert_eq "$(jget counters.udp_steered)" $((s0 + 1)) "sendmsg4 steered the datagram"
assert_eq "$(jget udp.flows)" $((f0 + 1)) "the forwarder carried it in a flow of its own"

log "port 53 to a fake address goes to the server behind it, not to the agent's responder"
FD=$(fake web6.test)
q0=$(jget counters.dns_queries)
r=$(kin "$PY" "$Q" "$FD" 53 far.example A)
assert_contains "$r" "ans=203.0.113.99 " "the far resolver answered through the gateway"
assert_eq "$(jget counters.dns_queries)" "$q0" "the agent's responder saw no query"

log "cgroup/sock_release: a program's flows end when it closes its socket, not at the idle timeout"
assert_not_contains "$(cat "$TMP/agent.log")" "lacks cgroup/sock_release" "the kernel loaded cgroup/sock_release"
# flows_of PORT: the flows of the program socket on PORT, and udp.closed.
flows_of()
{
	agent_status_raw | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for f in d["udp_flows"] if f["client"].endswith(":" + sys.argv[1])), d["udp"]["closed"])' "$1"
}
# held NAME ARGS...: udp_fake.py ARGS with its socket held open; sets HELD_PID and HELD_PORT.
held()
{
	local name=$1
	shift
	kin "$PY" "$UF" --hold "$TMP/$name.hold" "$@" >"$TMP/$name.out" 2>&1 &
	HELD_PID=$!
	for _ in $(seq 100); do
		[ -s "$TMP/$name.hold" ] && break
		kill -0 "$HELD_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$TMP/$name.hold" ] || fail "$name: did not get going: $(cat "$TMP/$name.out")"
	HELD_PORT=$(cat "$TMP/$name.hold")
}
# released NAME PORT PID: closes the held socket; its flows must leave status within 10 s
# (the idle timeout is 60 s).
released()
{
	local n closed0 closed
	read -r n closed0 <<<"$(flows_of "$2")"
	[ "$n" -ge 1 ] || fail "$1: no flow of port $2 while its socket is open"
	rm "$TMP/$1.hold"
	wait "$3" || fail "$1: $(cat "$TMP/$1.out")"
	for _ in $(seq 100); do
		read -r n closed <<<"$(flows_of "$2")"
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	assert_eq "$n" 0 "$1: its flows left status when it closed its socket"
	[ "$closed" -gt "$closed0" ] || fail "$1: udp.closed stayed $closed"
}
e0=$(jget counters.udp_end)
held unconnected4 "$F6" 7 "$F4" 7
P1=$HELD_PID
Q1=$HELD_PORT
held connected6 --family inet6 --connect "$G4" 7
released connected6 "$HELD_PORT" "$HELD_PID"
read -r n _ <<<"$(flows_of "$Q1")"
assert_eq "$n" 2 "the other program's two flows stay while its socket is open"
released unconnected4 "$Q1" "$P1"
held mapped --family mapped "$F4" 7
released mapped "$HELD_PORT" "$HELD_PID"
[ "$(jget counters.udp_end)" -ge $((e0 + 3)) ] || fail "udp_end $(jget counters.udp_end)"
pass "counters.udp_end counts the releases told"
assert_eq "$(jget counters.udp_end_lost)" 0 "no release was lost"

log "counters"
[ "$(jget counters.udp_steered)" -ge 20 ] || fail "udp_steered $(jget counters.udp_steered)"
pass "udp_steered counts the steered datagrams"
[ "$(jget counters.udp_recvmsg)" -ge 20 ] || fail "udp_recvmsg $(jget counters.udp_recvmsg)"
pass "udp_recvmsg counts the replies shown from the original address"
assert_eq "$(jget udp.no_origdst)" 0 "every datagram had its destination"
assert_eq "$(jget counters.bpf_errors)" 0 "no map errors"

log "without the agent, steered UDP fails closed"
agent_stop
r=$(kin "$PY" "$UF" -t 1 "$F6" 7) && fail "UDP to $F6 passed without an agent: $r"
pass "UDP to a fake address is not delivered anywhere else without an agent"
exit 0
