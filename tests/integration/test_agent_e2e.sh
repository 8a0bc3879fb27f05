#!/bin/bash
# test_agent_e2e.sh — unmodified programs in a cgroup reach the other address family by name through agent and gateway.
. "$(dirname "$0")/lib.sh"

topo_up
mkdir -p "$TMP/www4" "$TMP/www6"
for p in curl wget py; do
	printf 'hello from s6 to %s\n' "$p" >"$TMP/www6/$p.html"
	printf 'hello from s4 to %s\n' "$p" >"$TMP/www4/$p.html"
done
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
WEB6_LOG=$SPAWNED_LOG
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
WEB4_LOG=$SPAWNED_LOG
gw_start
CG4=$(cg_make app4)
CG6=$(cg_make app6)
PROBE=$REPO/tests/kernel/s46probe.py

# agent_up NS CGROUP GATEWAY DNS NAME [ARGS...]: an agent in the client namespace.
agent_up()
{
	agent_spawn "$1" "$5" "$TMP/$5.sock" --gateway "$3" --cgroup "$2" --no-pin \
		--fake-state "$TMP/$5.state" --dns-upstream "$4" "${@:6}"
}

# curl_fake CG NS FLAG URL PAGE INFAKE: curl FLAG in CG fetches URL; the body must be the file
# PAGE and the address curl connected to (its getpeername) pass INFAKE; sets PEER.
curl_fake()
{
	local out
	out=$(IN_CG=$1 nsx "$2" curl "$3" -sS --max-time 10 -w '\n%{remote_ip}' "$4") ||
		fail "curl $3 $4 failed: $out"
	assert_eq "$(printf '%s\n' "$out" | head -n 1)" "$(cat "$5")" "curl $3 got the page $4"
	PEER=$(printf '%s\n' "$out" | tail -n 1)
	"$6" "$PEER" || fail "curl $3 connected to $PEER, not a fake address"
	pass "curl $3 saw the fake address $PEER (getpeername)"
}

# counter NAME KEY: one of agent NAME's status counters.
counter() { "$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/$1.sock" "counters.$2"; }

in_fake4() { case $1 in 198.18.* | 198.19.*) return 0 ;; esac; return 1; }
in_fake6() { case $1 in 2001:2:0:*|2001:2::*) return 0 ;; esac; return 1; }

agent_up "$NS_C4" "$CG4" "$GW4_ADDR:$GW_PORT" "$GW4_ADDR" a4
A4_PID=$AGENT_PID A4_LOG=$AGENT_LOG
agent_up "$NS_C6" "$CG6" "[$GW6_ADDR]:$GW_PORT" "$GW6_ADDR" a6 --check-exists \
	--via-gateway 203.0.113.0/24

log "c4: curl -4 (IPv4 only) fetches a page of the IPv6-only web6.test"
curl_fake "$CG4" "$NS_C4" -4 http://web6.test/curl.html "$TMP/www6/curl.html" in_fake4
F4=$PEER
assert_contains "$(cat "$WEB6_LOG")" "[$GW_S6_ADDR]" "s6 saw the gateway's IPv6 address"

log "c4: ncat and python by name"
# (busybox-static's wget crashes in its own name lookup on these hosts: ncat instead.)
body=$(printf 'GET /wget.html HTTP/1.0\r\nHost: web6.test\r\n\r\n' |
	IN_CG=$CG4 nsx "$NS_C4" ncat -w 10 web6.test 80 | sed '1,/^\r$/d') || fail "ncat failed"
assert_eq "$body" "$(cat "$TMP/www6/wget.html")" "ncat got the page from s6"
body=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" -c 'import socket, urllib.request
print(socket.getaddrinfo("web6.test", 80, socket.AF_INET)[0][4][0])
print(urllib.request.urlopen("http://web6.test/py.html", timeout=10).read().decode().strip())') ||
	fail "python urllib failed"
assert_eq "$(printf '%s\n' "$body" | head -n 1)" "$F4" "python resolves web6.test to the same fake address"
assert_eq "$(printf '%s\n' "$body" | tail -n 1)" "$(cat "$TMP/www6/py.html")" "python urllib got the page"

if command -v ssh >/dev/null; then
	log "c4: an ssh client reaches an IPv6-only SSH server by name"
	SPAWN_NAME=banner spawn "$NS_S6" "$PY" -c 'import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$S6_ADDR"'", 22))
s.listen(4)
while True:
    c, _ = s.accept()
    c.sendall(b"SSH-2.0-s46banner\r\n")
    c.recv(4096)
    c.close()'
	wait_port "$NS_S6" "$S6_ADDR" 22
	out=$(IN_CG=$CG4 nsx "$NS_C4" ssh -4 -v -F /dev/null -o BatchMode=yes -o ConnectTimeout=5 \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null web6.test true 2>&1)
	assert_contains "$out" "remote software version s46banner" "ssh -4 talked to the IPv6-only server"
fi

log "c4: half-close travels the whole path (program -> agent -> gateway -> server and back)"
echo_serve "$NS_S6" "$S6_ADDR" 7
out=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" "$ITEST_DIR/halfclose.py" web6.test 7 300000) || fail "half-close client"
assert_eq "$out" "True EOF 300000" "300000 bytes echoed, then the server saw the program's EOF"

log "c6: an IPv6-only client reaches the IPv4-only web4.test"
curl_fake "$CG6" "$NS_C6" -6 http://web4.test/curl.html "$TMP/www4/curl.html" in_fake6
F6=$PEER
assert_contains "$(cat "$WEB4_LOG")" "$GW_S4_ADDR" "s4 saw the gateway's IPv4 address"

log "c6: an IPv4-only program on the IPv6-only host reaches web4.test over the IPv6 network"
body=$(IN_CG=$CG6 nsx "$NS_C6" curl -4 -sS --max-time 10 http://web4.test/curl.html) ||
	fail "curl -4 on the IPv6-only host failed"
assert_eq "$body" "$(cat "$TMP/www4/curl.html")" "curl -4 in c6 got the page from s4"

log "c6: an IPv4 literal on the IPv6-only host goes through the gateway (--via-gateway)"
body=$(IN_CG=$CG6 nsx "$NS_C6" curl -4 -sS --max-time 10 "http://$S4_ADDR/curl.html") ||
	fail "curl -4 http://$S4_ADDR/ on the IPv6-only host failed"
assert_eq "$body" "$(cat "$TMP/www4/curl.html")" "curl -4 to the literal $S4_ADDR in c6 got the page"
assert_contains "$(cat "$GW_LOG")" "dest=$S4_ADDR:80" "the gateway was asked for the IPv4 address"

log "c6 agent with --check-exists: a name the gateway cannot resolve is NXDOMAIN, not faked"
out=$(IN_CG=$CG6 nsx "$NS_C6" "$PY" -c 'import socket
try:
    print(socket.getaddrinfo("nx.test", 80, socket.AF_INET6)[0][4][0])
except socket.gaierror as e:
    print("gaierror", e.errno == socket.EAI_NONAME)') || fail "resolve nx.test"
assert_eq "$out" "gaierror True" "nx.test does not resolve (NXDOMAIN through the gateway's RESOLVE)"

log "failures are quick and clean"
# curl_reset URL MSG: curl in CG4 must see the agent's reset: exit 7 when it arrives before curl
# checks its connect, 55 while it sends its request, 56 after; 28 would be a timeout (--max-time
# is only a hang guard).
curl_reset()
{
	local rc=0
	IN_CG=$CG4 nsx "$NS_C4" curl -4 -sS --max-time 10 "$1" >/dev/null 2>&1 || rc=$?
	case $rc in 7 | 55 | 56) pass "$2 (curl exit $rc)" ;; *) fail "$2: curl exit $rc, not 7, 55 or 56" ;; esac
}
# This agent fakes every name: the gateway's "host unreachable" makes it reset.
curl_reset http://nx.test/ "a name that does not exist fails with a reset, not a timeout"
wait_log "$A4_LOG" "nx.test:80 via .*: host unreachable"
curl_reset http://web6.test:81/ "a refused destination fails with a reset, not a timeout"
[ "$(counter a4 refused)" -ge 2 ] || fail "the agent did not count the refusals"
pass "the agent counted the refusals"

log "an agent restart keeps the mappings"
stop_pid "$A4_PID"
agent_up "$NS_C4" "$CG4" "$GW4_ADDR:$GW_PORT" "$GW4_ADDR" a4
out=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" -c 'import socket
print(socket.getaddrinfo("web6.test", 80, socket.AF_INET)[0][4][0])') || fail "resolve after restart"
assert_eq "$out" "$F4" "web6.test keeps $F4 across the restart"
body=$(IN_CG=$CG4 nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/curl.html) ||
	fail "curl after restart"
assert_eq "$body" "$(cat "$TMP/www6/curl.html")" "curl works after the restart"

log "detach restores normal behaviour"
"$S46_BIN" detach --control "$TMP/a4.sock" "$CG4" || fail "detach"
out=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" -c 'import socket
try:
    print(socket.getaddrinfo("web6.test", 80, socket.AF_INET)[0][4][0])
except socket.gaierror:
    print("no address")') || fail "resolve after detach"
assert_eq "$out" "no address" "after detach, web6.test has no IPv4 address again (real DNS)"
exit 0
