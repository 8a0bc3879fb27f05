#!/bin/bash
# test_agent_reload.sh — SIGHUP rereads the agent's file: gateways, opt-ins and the no-fake list change, live connections and fake addresses stay, a bad file keeps the old configuration.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
echo_serve "$NS_S6" "$S6_ADDR" 7
gw_start
G1_LOG=$GW_LOG
# A second gateway on another port of gw: the one the file switches to.
SPAWN_NAME=gateway2 spawn "$NS_GW" "$S46_BIN" gateway --listen "$GW4_ADDR:1081"
G2_LOG=$SPAWNED_LOG
wait_port "$NS_GW" "$GW4_ADDR" 1081
CG=$(cg_make app)
CG2=$(cg_make app2)
CG3=$(cg_make app3)
CTL=$TMP/agent.sock
CONF=$TMP/agent.conf

# conf GATEWAY-PORT LINES...: the agent's file, with the given extra lines.
conf()
{
	local port=$1
	shift
	{
		printf '# socks46 agent, reload test\n'
		printf 'gateway %s:%s\n' "$GW4_ADDR" "$port"
		printf 'dns-upstream %s\nfake-state %s\nno-pin\n' "$GW4_ADDR" "$TMP/fakeip.state"
		printf '%s\n' "$@"
	} >"$CONF.new"
	mv "$CONF.new" "$CONF"
}

ctl() { "$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" "$@"; }
# addr_in CG NAME: the IPv4 address a program in CG gets for NAME (through the agent's DNS).
addr_in() { IN_CG=$1 nsx "$NS_C4" "$PY" -c 'import socket, sys
print(socket.getaddrinfo(sys.argv[1], 7, socket.AF_INET)[0][4][0])' "$2"; }
# reload: SIGHUP, then wait for the agent's verdict (applied or refused) in its log.
reloads=0
reload()
{
	kill -HUP "$AGENT_PID" || fail "SIGHUP to the agent"
	reloads=$((reloads + 1))
	wait_log "$AGENT_LOG" 'reloaded configuration|keeping the previous configuration' "$reloads"
}
in_fake4() { case $1 in 198.18.* | 198.19.*) return 0 ;; esac; return 1; }

conf 1080 "cgroup $CG" "no-fake corp.test"
agent_spawn "$NS_C4" a "$CTL" --config "$CONF"

log "before the reload: gateway 1080, web4.test faked, app2 not redirected"
F6=$(addr_in "$CG" web6.test)
in_fake4 "$F6" || fail "web6.test is not faked: $F6"
F4=$(addr_in "$CG" web4.test)
in_fake4 "$F4" || fail "web4.test is not faked: $F4"
pass "web6.test -> $F6, web4.test -> $F4 (fake)"
assert_eq "$(ctl gateways.0.addr)" "$GW4_ADDR:1080" "status lists gateway 1080"

# A live connection through gateway 1080: one echo before the reload, one after.
IN_CG=$CG nsx "$NS_C4" "$PY" -c 'import os, socket, sys, time
s = socket.create_connection(("web6.test", 7), timeout=20)
s.sendall(b"before")
print("got", s.recv(64).decode(), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
s.sendall(b"after")
print("got", s.recv(64).decode(), flush=True)' "$TMP/go" >"$TMP/live.out" 2>&1 &
live=$!
wait_log "$TMP/live.out" '^got before$'
assert_eq "$(ctl connections.0.gateway)" "$GW4_ADDR:1080" "the live connection runs through gateway 1080"

# A run-time opt-in the file never names: a reload must leave it alone.
NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" attach --control "$CTL" "$CG3" >/dev/null ||
	fail "socks46 attach $CG3"

log "reload: gateway 1081, web4.test never faked, app2 opted in, a restart-only change"
conf 1081 "cgroup $CG" "cgroup $CG2" "no-fake corp.test" "no-fake web4.test" "proxy-port 10999"
reload
wait_log "$AGENT_LOG" 'reloaded configuration: 1 gateway\(s\), 2 opt-in\(s\), 2 name suffix'
wait_log "$AGENT_LOG" 'reload: proxy-port changes only on restart'
assert_eq "$(ctl gateways.0.addr)" "$GW4_ADDR:1081" "status lists gateway 1081 only"
assert_eq "$(ctl gateways.1.addr 2>/dev/null)" "" "gateway 1080 is gone from the list"

assert_eq "$(ctl connections.0.gateway)" "$GW4_ADDR:1080" "and still does after the reload"
touch "$TMP/go"
wait "$live" || fail "the live connection failed: $(cat "$TMP/live.out")"
assert_eq "$(tail -n 1 "$TMP/live.out")" "got after" "a connection made before the reload carries on intact"
# The gateway logs a connection when it ends: 11 bytes up, "before" and "after".
wait_log "$G1_LOG" 'dest=web6.test:7 .*up=11 '

out=$(IN_CG=$CG nsx "$NS_C4" "$PY" -c 'import socket
s = socket.create_connection(("web6.test", 7), timeout=10)
s.sendall(b"new")
print(s.recv(64).decode())') || fail "a new connection after the reload: $out"
assert_eq "$out" "new" "a new connection after the reload works"
wait_log "$G2_LOG" 'dest=web6.test:7'
assert_eq "$(log_count "$G1_LOG" 'dest=web6.test:7')" 1 "and went through gateway 1081, not 1080"

assert_eq "$(addr_in "$CG" web6.test)" "$F6" "web6.test keeps its fake address (the table stays)"
assert_eq "$(addr_in "$CG" web4.test)" "$S4_ADDR" "web4.test is no longer faked (no-fake added)"
in_fake4 "$(addr_in "$CG2" web6.test)" || fail "app2 not redirected after the reload"
pass "app2, added to the file, is redirected"

log "a bad file keeps the previous configuration"
conf 1080 "cgroup $CG" "frobnicate yes"
reload
wait_log "$AGENT_LOG" "reload: $CONF:7: unknown key 'frobnicate'; keeping the previous configuration"
assert_eq "$(ctl gateways.0.addr)" "$GW4_ADDR:1081" "still gateway 1081"
assert_eq "$(addr_in "$CG" web4.test)" "$S4_ADDR" "still no fake for web4.test"
in_fake4 "$(addr_in "$CG2" web6.test)" || fail "app2 lost its redirection after a bad reload"
pass "app2 still redirected"
conf 1081 "cgroup $CG" "password-file $TMP/nonexistent.pw"
reload
wait_log "$AGENT_LOG" "reload: password-file $TMP/nonexistent.pw: No such file or directory; keeping"
kill -0 "$AGENT_PID" || fail "the agent died"

log "reload: app2 removed from the file is opted out; the run-time opt-in stays"
conf 1081 "cgroup $CG"
reload
wait_log "$AGENT_LOG" 'reloaded configuration: 1 gateway\(s\), 1 opt-in\(s\), 0 name suffix'
out=$(addr_in "$CG2" web6.test 2>&1) && fail "app2 still gets an IPv4 address for web6.test: $out"
pass "app2 asks the real resolver again (web6.test has no IPv4 address)"
in_fake4 "$(addr_in "$CG3" web6.test)" || fail "the run-time opt-in app3 lost its redirection"
pass "app3, attached with socks46 attach, stays redirected"
in_fake4 "$(addr_in "$CG" web4.test)" || fail "web4.test not faked again"
pass "web4.test is faked again (no-fake removed)"

if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$AGENT_LOG"; then
	fail "sanitizer report in the agent's log"
fi
exit 0
