#!/bin/bash
# test_agent_handoff.sh — the agent hands each redirected connection to a gateway on the same host over its Unix socket: pages, bulk bytes, half-close, resets, gateway restarts, the TCP fallback and who may hand over.
. "$(dirname "$0")/lib.sh"

topo_up
mkdir -p "$TMP/www6"
printf 'hello from s6 through the handoff\n' >"$TMP/www6/page.html"
head -c 4000000 /dev/urandom >"$TMP/www6/big.bin"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
echo_serve "$NS_S6" "$S6_ADDR" 7
# Traversable for the unprivileged user of the credentials check below.
chmod o+x "$TMP"
mkdir -m 755 "$TMP/run"
SOCK=$TMP/run/handoff.sock
gw_start --handoff "$SOCK"
CG=$(cg_make app)

counter() { "$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/a.sock" "counters.$1"; }
status_of() { "$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/a.sock" "$1"; }
in_cg() { IN_CG=$CG nsx "$NS_C4" "$@"; }

# The gateway is in its own namespace: the program's socket (in c4) crosses over as a
# descriptor, and the gateway dials s6 from gw. The TCP gateway is the fallback.
agent_spawn "$NS_C4" a "$TMP/a.sock" --handoff "$SOCK" --gateway "$GW4_ADDR:$GW_PORT" \
	--cgroup "$CG" --no-pin --fake-state "$TMP/a.state" --dns-upstream "$GW4_ADDR"
A_LOG=$AGENT_LOG

log "curl -4 by name: the page comes through the handoff, not a SOCKS5 connection"
body=$(in_cg curl -4 -sS --max-time 10 http://web6.test/page.html) || fail "curl failed: $body"
assert_eq "$body" "$(cat "$TMP/www6/page.html")" "curl -4 got the IPv6-only server's page"
assert_eq "$(counter handed_off)" 1 "the agent handed one connection over"
assert_eq "$(counter forwarded)" 0 "and opened no SOCKS5 connection to the gateway"
assert_eq "$(status_of handoff.up)" True "status: a handoff channel is up"
wait_log "$GW_LOG" 'conn client=127\.0\.0\.1:[0-9]+ user=- dest=web6\.test:80 via=\[2001:db8:6::2\]:80 up=[1-9][0-9]* down=[1-9]'
pass "the gateway relayed the program's own connection (client is its loopback address)"

log "4,000,000 random bytes intact"
got=$(in_cg curl -4 -sS --max-time 20 http://web6.test/big.bin | sha256sum | cut -d' ' -f1)
assert_eq "$got" "$(sha256sum <"$TMP/www6/big.bin" | cut -d' ' -f1)" "the download's sha256 matches"

log "bytes the program sends before the gateway connected are relayed first; half-close passes"
out=$(in_cg "$PY" "$ITEST_DIR/halfclose.py" web6.test 7 300000) || fail "half-close client"
assert_eq "$out" "True EOF 300000" "300000 bytes echoed, then the server saw the program's EOF"

log "a refused destination resets the program's connection at once"
rc=0
in_cg curl -4 -sS --max-time 10 http://web6.test:81/ >/dev/null 2>&1 || rc=$?
case $rc in 7 | 55 | 56) pass "curl saw a reset, not an empty answer or a timeout (exit $rc)" ;;
*) fail "curl exit $rc for a refused destination" ;; esac
wait_log "$GW_LOG" 'dest=web6\.test:81 .*result="connect failed: Connection refused \(rep 0x05\)"'
pass "the gateway logged the refusal"

log "a user other than root or the gateway's is not let in"
setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(5)
print(s.recv(1) == b"")' "$SOCK" >"$TMP/nobody.out" 2>&1
assert_eq "$(cat "$TMP/nobody.out")" True "the gateway closed the channel of uid 65534"
wait_log "$GW_LOG" "a channel from a user other than root or the gateway's"

log "gateway down: connections go to the TCP gateway list (another gateway here), counted"
handed=$(counter handed_off)
stop_pid "$GW_PID"
[ ! -e "$SOCK" ] || fail "the stopped gateway left its socket behind"
gw_start
body=$(in_cg curl -4 -sS --max-time 10 http://web6.test/page.html) || fail "curl via the TCP gateway"
assert_eq "$body" "$(cat "$TMP/www6/page.html")" "the page came through the TCP gateway"
[ "$(counter handoff_fallback)" -ge 1 ] || fail "no handoff_fallback counted"
assert_eq "$(counter forwarded)" 1 "one SOCKS5 connection to the gateway"
assert_eq "$(counter handed_off)" "$handed" "nothing handed over while the socket was gone"
wait_log "$A_LOG" "handoff to .*handoff\.sock failed"
assert_eq "$(log_count "$A_LOG" 'handoff to .* failed')" 1 "the outage is one warning, not one per connection"

log "the handoff gateway back: the agent dials its socket again"
stop_pid "$GW_PID"
gw_start --handoff "$SOCK"
handed_again() {
	in_cg curl -4 -sS --max-time 10 http://web6.test/page.html >/dev/null &&
		[ "$(counter handed_off)" -gt "$handed" ]
}
wait_for 10 handed_again || fail "no connection handed over after the gateway came back"
pass "connections are handed over again"
assert_eq "$(status_of handoff.up)" True "status: the channel is up again"
exit 0
