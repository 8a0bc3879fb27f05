#!/bin/bash
# test_redirect.sh — every program loaded and attached; DNS over UDP (both ways) and TCP steered; connects redirected end to end.
. "$(dirname "$0")/klib.sh"
ksetup
# Three gateways: one refuses connections, one accepts but never answers, the real one.
kspawn silent "$PY" -c 'import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 1081))
s.listen(64)
time.sleep(3600)'
wait_tcp 127.0.0.1 1081
GATEWAYS="127.0.0.1:1082 127.0.0.1:1081 127.0.0.1:1080"
kspawn local "$PY" "$PROBE" serve 127.0.0.1 8080 hello-local
wait_tcp 127.0.0.1 8080
# The connections, not the health checks, find the bad gateways here.
agent_start --connect-timeout 300 --via-gateway 127.0.0.0/8 --health-interval 0

log "the programs are attached to the test cgroup with pinned links"
assert_eq "$(jget cgroups.0.pinned)" True "links pinned"
n=$(find "$PIN" -mindepth 2 -type f 2>/dev/null | wc -l)
assert_eq "$n" 10 "ten programs pinned (connect4/6, sendmsg4/6, recvmsg4/6, getpeername4/6, sock_ops, sock_release)"

log "DNS: unconnected UDP (sendmsg4/recvmsg4), connected UDP (connect4), TCP, IPv6 (sendmsg6/recvmsg6)"
out=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 unconnected) || fail "$out"
printf '%s\n' "$out"
F4=$(printf '%s\n' "$out" | tail -n 1)
out=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 28 connected) || fail "$out"
printf '%s\n' "$out"
F6=$(printf '%s\n' "$out" | tail -n 1)
out=$(kin "$PY" "$PROBE" dns-tcp "$DNS_SRV4" web4.test 1) || fail "$out"
printf '%s\n' "$out"
F4B=$(printf '%s\n' "$out" | tail -n 1)
out=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV6" web4.test 28 unconnected) || fail "$out"
printf '%s\n' "$out"
F6B=$(printf '%s\n' "$out" | tail -n 1)
out=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV6" web6.test 1 unconnected) || fail "$out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "$F4" "the same name keeps its fake address"

log "DNS from dual-stack sockets to a v4-mapped server (sendmsg4 or connect6, then recvmsg6)"
out=$(kin "$PY" "$PROBE" dns-udp "::ffff:$DNS_SRV4" web6.test 1 unconnected) || fail "$out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "$F4" "unconnected UDP to ::ffff:$DNS_SRV4 answered as from that server"
out=$(kin "$PY" "$PROBE" dns-udp "::ffff:$DNS_SRV4" web6.test 1 connected) || fail "$out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "$F4" "connected UDP to ::ffff:$DNS_SRV4 answered as from that server"

log "connects to fake addresses reach the real server through the gateway; getpeername shows the fake"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 || fail "IPv4 program to IPv6-only server"
# Failures, not "up": the back-off may have run out on a slow machine by now.
assert_eq "$(jget gateways.0.failures) $(jget gateways.1.failures) $(jget gateways.2.failures)" "1 1 0" \
	"a refusing and a silent gateway were skipped"
kin "$PY" "$PROBE" get "$F6B" 80 hello-s4 || fail "IPv6 program to IPv4-only server"
kin "$PY" "$PROBE" get "$F6" 80 hello-s6 || fail "IPv6 program to IPv6 server by fake address"
kin "$PY" "$PROBE" get-dual "::ffff:$F4B" 80 hello-s4 || fail "dual-stack socket to a v4-mapped fake"
log "policy: a real address listed with --via-gateway goes through the gateway too"
kin "$PY" "$PROBE" get 203.0.113.2 80 hello-s4 || fail "policy destination"
assert_eq "$(jget counters.forwarded)" 5 "the agent forwarded all five connections"
assert_eq "$(jget counters.tcp_redirect)" 5 "connect4/connect6 redirected five connects"
assert_eq "$(jget counters.no_origdst)" 0 "every accepted connection had its original destination"

log "loopback stays local even when a policy prefix covers it"
kin "$PY" "$PROBE" get 127.0.0.1 8080 hello-local || fail "local service"
assert_eq "$(jget counters.tcp_redirect)" 5 "the connect to 127.0.0.1 was not redirected"

log "the agent's own sockets and a program outside the cgroup are not redirected"
r=$(kns "$PY" "$PROBE" connect-error "$F4" 80)
assert_eq "$r" ENETUNREACH "outside the cgroup, a fake address is unreachable (no redirect)"

r=$(kin "$PY" "$PROBE" connect-error "$F4" 80 0x5346)
assert_eq "$r" ENETUNREACH "a socket marked 0x5346 in the cgroup is not redirected"

log "a destination the gateway refuses fails at once with a reset"
r=$(kin "$PY" "$PROBE" connect-error "$F4B" 81)
assert_eq "$r" ECONNRESET "refused destination resets the program's connection (no wait for a timeout)"
exit 0
