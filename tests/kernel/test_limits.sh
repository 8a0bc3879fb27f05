#!/bin/bash
# test_limits.sh — the agent out of file descriptors (proxy and DNS over TCP): no busy loop, the gateway not blamed, service resumes.
. "$(dirname "$0")/klib.sh"
# 56: what the agent holds from the start (programs, links, maps, listeners, the UDP forwarder's
# ring of released sockets and sock_diag socket: about 50) and a few more.
ksetup
kspawn agent prlimit --nofile=56:56 "$S46_BIN" agent --gateway 127.0.0.1:1080 --cgroup "$CG" \
	--control "$CTL" --no-pin --fake-state none --dns-upstream 127.0.0.2
AGENT_PID=$SPAWNED_PID
for _ in $(seq 100); do
	[ -S "$CTL" ] && break
	sleep 0.05
done
[ -S "$CTL" ] || fail "agent did not start"
F4=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 unconnected | tail -n 1)

# cpu_ticks: user+system time of the agent so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }

log "60 connections held open against a limit of 56 descriptors"
# The holder keeps them until the test creates $TMP/release (at most 60 s).
kin "$PY" -c "import os, socket, time
socks = [socket.create_connection(('$F4', 80)) for _ in range(60)]
end = time.time() + 60
while not os.path.exists('$TMP/release') and time.time() < end:
    time.sleep(0.05)" &
holder=$!
wait_log "$TMP/agent.log" pausing 1 30
pass "accepting paused while out of descriptors"
# Measured while the shortage lasts: one second of the agent's CPU time.
t0=$(cpu_ticks)
sleep 1
t1=$(cpu_ticks)
[ $((t1 - t0)) -lt 30 ] || fail "the agent used $((t1 - t0)) ticks in 1s while out of descriptors"
pass "no busy loop while out of descriptors ($((t1 - t0)) ticks in 1s)"
touch "$TMP/release"
wait "$holder"
assert_eq "$(jget gateways.0.up)" True "the gateway was not blamed for the agent's shortage"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null || fail "no service after the shortage"
pass "connections work again once descriptors are free"

log "60 DNS-over-TCP clients held open against the same limit"
rm -f "$TMP/release"
kin "$PY" -c "import os, socket, time
socks = [socket.create_connection(('$DNS_SRV4', 53)) for _ in range(60)]
end = time.time() + 60
while not os.path.exists('$TMP/release') and time.time() < end:
    time.sleep(0.05)" &
holder=$!
wait_log "$TMP/agent.log" "dns: accept: .*pausing" 1 30
pass "the DNS responder's TCP accepting paused while out of descriptors"
t0=$(cpu_ticks)
sleep 1
t1=$(cpu_ticks)
[ $((t1 - t0)) -lt 30 ] || fail "the agent used $((t1 - t0)) ticks in 1s while DNS clients hold its descriptors"
pass "no busy loop while DNS clients hold the descriptors ($((t1 - t0)) ticks in 1s)"
touch "$TMP/release"
wait "$holder"
kin "$PY" "$PROBE" dns-tcp "$DNS_SRV4" web6.test 1 >/dev/null || fail "no DNS over TCP after the shortage"
pass "DNS over TCP works again once descriptors are free"
exit 0
