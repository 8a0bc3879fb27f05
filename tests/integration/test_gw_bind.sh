#!/bin/bash
# test_gw_bind.sh — BIND with real peers in other namespaces: both replies, the peer check, data both ways, the timeout.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
# A second address on s6: a host BIND must not accept when it waits for web6.test.
S6_OTHER=2001:db8:6::3
ns_addr "$NS_S6" gw "$S6_OTHER/64"
echo_serve "$NS_S4" "$S4_ADDR" 7
gw_start --bind-timeout 30

# good_connect: the gateway still relays an ordinary CONNECT.
good_connect()
{
	local out
	out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$GW4_ADDR" "$GW_PORT" connect web4.test 7 send:ok recv:2)
	assert_contains "$out" "data ok" "CONNECT still works after $1"
}

# --- By name, IPv4 client, IPv6 peer: the first reply is gw's address on the
# link to s6 (the only family web6.test has), the peer connects there.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" web6.test reply send:ping recv:4 shut readall
assert_eq "$BND_ADDR" "$GW_S6_ADDR" "BIND web6.test: first BND.ADDR is gw's address toward s6"
[ "$BND_PORT" -gt 0 ] || fail "BIND web6.test: BND.PORT $BND_PORT"
listen=$(nsx "$NS_GW" ss -Htln "sport = :$BND_PORT")
assert_contains "$listen" "$GW_S6_ADDR" "the gateway listens on BND.ADDR:BND.PORT"
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_ADDR" recv:4 send:pong readall)
bind_end
read -r _ peer_addr peer_port <<<"$(grep '^local ' <<<"$out")"
assert_eq "$peer_addr" "$S6_ADDR" "peer connected from s6's address"
assert_eq "$(grep -c '^reply 00' <<<"$BIND_RES")" 2 "two success replies"
assert_eq "$(grep '^bnd ' <<<"$BIND_RES" | sed -n 2p)" "bnd $S6_ADDR $peer_port" \
	"second reply carries the peer's address and port"
assert_contains "$out" "data ping" "client -> peer data"
assert_contains "$BIND_RES" "data pong" "peer -> client data"
assert_contains "$out" "eof" "client's half-close reached the peer"
assert_contains "$BIND_RES" "eof" "peer's close reached the client"
line=$(conn_line "$GW_LOG" 'dest=web6.test:0')
assert_contains "$line" "via=[$S6_ADDR]:$peer_port" "log line names the peer that connected in"
listen=$(nsx "$NS_GW" ss -Htln "sport = :$BND_PORT")
assert_eq "$listen" "" "the BIND port is closed after the peer was accepted"
good_connect "BIND by name"

# --- By address, IPv6 client, IPv4 peer: BND.ADDR is of the family that reaches s4.
bind_start "$NS_C6" "$GW6_ADDR" "$GW_PORT" "$S4_ADDR" reply echo:20000 shut readall
assert_eq "$BND_ADDR" "$GW_S4_ADDR" "BIND 203.0.113.2: first BND.ADDR is gw's IPv4 address toward s4"
out=$(bind_peer "$NS_S4" "$BND_ADDR" "$BND_PORT" mirror)
bind_end
read -r _ peer_addr peer_port <<<"$(grep '^local ' <<<"$out")"
assert_eq "$(grep '^bnd ' <<<"$BIND_RES" | sed -n 2p)" "bnd $S4_ADDR $peer_port" "second reply: s4's address"
assert_contains "$BIND_RES" "echo ok 20000" "20000 random bytes to the IPv4 peer and back"
assert_contains "$out" "mirrored 20000" "the peer got exactly 20000 bytes and the client's EOF"
assert_contains "$BIND_RES" "eof" "the peer's EOF reached the client"

# --- The wrong host: BIND waits for web6.test (2001:db8:6::2); a connection
# from s6's other address is closed, the right one is then accepted.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" web6.test reply send:hi recv:2
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_OTHER" recv:1)
assert_contains "$out" "local $S6_OTHER" "intruder connected from $S6_OTHER"
case $out in
*closed* | *reset*) pass "a host that is not DST.ADDR is closed" ;;
*) fail "intruder from $S6_OTHER was not closed: $out" ;;
esac
assert_contains "$(cat "$GW_LOG")" "rejected" "the rejected peer is logged"
kill -0 "$BIND_PID" 2>/dev/null || fail "BIND client ended after the intruder: $(cat "$BIND_OUT")"
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_ADDR" recv:2 send:yo)
bind_end
assert_contains "$BIND_RES" "bnd $S6_ADDR " "second reply: the right host, after an intruder"
assert_not_contains "$BIND_RES" "bnd $S6_OTHER" "the intruder never reached the client"
assert_contains "$out" "data hi" "data after the intruder: client -> peer"
assert_contains "$BIND_RES" "data yo" "data after the intruder: peer -> client"

# --- By IPv6 address from the IPv4-only client: only that address may connect in.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" "$S6_OTHER" reply recv:3
assert_eq "$BND_ADDR" "$GW_S6_ADDR" "BIND $S6_OTHER from c4: BND.ADDR toward s6"
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_ADDR" recv:1)
case $out in
*closed* | *reset*) pass "BIND to $S6_OTHER: $S6_ADDR is closed" ;;
*) fail "BIND to $S6_OTHER accepted $S6_ADDR: $out" ;;
esac
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_OTHER" send:abc)
bind_end
assert_contains "$BIND_RES" "bnd $S6_OTHER " "BIND to $S6_OTHER: second reply carries it"
assert_contains "$BIND_RES" "data abc" "BIND to $S6_OTHER: data"

# --- All-zero DST.ADDR: the address the control connection arrived on, anyone may connect.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" 0.0.0.0 reply recv:4
assert_eq "$BND_ADDR" "$GW4_ADDR" "BIND 0.0.0.0: BND.ADDR is where the client's connection arrived"
out=$(bind_peer "$NS_C4" "$BND_ADDR" "$BND_PORT" send:back)
bind_end
read -r _ peer_addr peer_port <<<"$(grep '^local ' <<<"$out")"
assert_eq "$(grep '^bnd ' <<<"$BIND_RES" | sed -n 2p)" "bnd $C4_ADDR $peer_port" "BIND 0.0.0.0: any host may connect"
assert_contains "$BIND_RES" "data back" "BIND 0.0.0.0: data"

# --- A name of both families: its first address in --prefer order (default ipv6)
# picks the listening address; any of its addresses may connect in.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" dual.test reply recv:2
assert_eq "$BND_ADDR" "$GW_S6_ADDR" "BIND dual.test (prefer ipv6): BND.ADDR toward s6"
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_ADDR" send:d6)
bind_end
assert_contains "$BIND_RES" "data d6" "BIND dual.test: s6 connected in"

# --- Bytes the client sends before anyone connected in reach the peer first.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" web6.test send:early- sleep:0.2 reply send:late recv:2
out=$(bind_peer "$NS_S6" "$BND_ADDR" "$BND_PORT" --src "$S6_ADDR" recv:10 send:ok)
bind_end
assert_contains "$out" "data early-late" "bytes sent before the second reply are kept, in order"
assert_contains "$BIND_RES" "data ok" "and the peer's answer arrives"

# --- Ten BINDs waiting at once, peers arriving in reverse order: each client
# gets its own peer's bytes.
pids=() outs=() ports=()
for i in 0 1 2 3 4 5 6 7 8 9; do
	BIND_TMO=30 bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" web6.test reply recv:3
	pids[i]=$BIND_PID outs[i]=$BIND_OUT ports[i]=$BND_PORT
done
[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" = 10 ] || fail "ten BINDs, ports: ${ports[*]}"
pass "ten waiting BINDs have ten ports"
# One process connects all ten peers (ten interpreters would outlast the clients' timeout).
nsx "$NS_S6" "$PY" -c '
import socket, sys
for i, port in reversed(list(enumerate(sys.argv[2:]))):
    s = socket.create_connection((sys.argv[1], int(port)), timeout=8, source_address=("'"$S6_ADDR"'", 0))
    s.sendall(b"p0%d" % i)
    s.close()
' "$GW_S6_ADDR" "${ports[@]}" || fail "ten BIND peers could not connect"
for i in 0 1 2 3 4 5 6 7 8 9; do
	wait "${pids[i]}"
	grep -q "^data p0$i\$" "${outs[i]}" || fail "BIND client $i: $(cat "${outs[i]}")"
done
pass "ten concurrent BINDs each got their own peer"

# --- A name that does not exist fails in the first reply.
out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$GW4_ADDR" "$GW_PORT" connect nope.test 0 --cmd 2)
assert_contains "$out" "reply 04" "BIND nope.test -> 0x04"
good_connect "failed BIND"

# --- A client that gives up before anyone connects: the port is released at
# once, not after --bind-timeout (30 s here).
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" web6.test
wait "$BIND_PID"
bind_port_closed() { listen=$(nsx "$NS_GW" ss -Htln "sport = :$BND_PORT") && [ -z "$listen" ]; }
wait_for 10 bind_port_closed
assert_eq "$listen" "" "the BIND port is closed when the client leaves, long before --bind-timeout 30"
good_connect "a BIND client that left"

stop_pid "$GW_PID"
gw_start --bind-timeout 10 --prefer ipv4
bind_start "$NS_C6" "$GW6_ADDR" "$GW_PORT" dual.test reply recv:2
assert_eq "$BND_ADDR" "$GW_S4_ADDR" "BIND dual.test with --prefer ipv4: BND.ADDR toward s4"
out=$(bind_peer "$NS_S4" "$BND_ADDR" "$BND_PORT" send:d4)
bind_end
assert_contains "$BIND_RES" "bnd $S4_ADDR " "BIND dual.test: s4 connected in"
assert_contains "$BIND_RES" "data d4" "BIND dual.test: data from s4"

# --- Nobody connects in: the second reply is 0x06 after --bind-timeout.
stop_pid "$GW_PID"
gw_start --bind-timeout 1
t0=$(date +%s%N)
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" web6.test reply
bind_end
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "$(grep '^reply ' <<<"$BIND_RES" | sed -n 2p)" "reply 06" "no peer within --bind-timeout 1 -> second reply 0x06"
assert_contains "$BIND_RES" "eof" "closed after the timeout reply"
# Not before the timeout (BIND_TMO, 8 s, guards against a hang).
[ "$ms" -ge 900 ] || fail "bind timeout reply after only ${ms} ms"
pass "bind timeout reply not before --bind-timeout 1 (${ms} ms)"
listen=$(nsx "$NS_GW" ss -Htln "sport = :$BND_PORT")
assert_eq "$listen" "" "the BIND port is closed after the timeout"
good_connect "BIND timeouts"
kill -0 "$GW_PID" 2>/dev/null || fail "gateway died"
