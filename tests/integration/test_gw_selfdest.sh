#!/bin/bash
# test_gw_selfdest.sh — the gateway's own host: unspecified addresses in every spelling, loopback, its own addresses, names resolving to them, UDP; proxy loops through its listeners and upstreams; numeric-looking names.
. "$(dirname "$0")/lib.sh"
set -u

DNS_EXTRA=(host-record=zero.test,0.0.0.0 host-record=lo.test,127.0.0.1 host-record=lo6.test,::1
	host-record=self.test,203.0.113.1)
topo_up
# Services on the gateway host that no client may reach: loopback-only, and one on an
# address of the host that clients do not use.
SPAWN_NAME=lo4 spawn "$NS_GW" "$PY" -u "$ITEST_DIR/echo_server.py" 127.0.0.1 8080
LO4_LOG=$SPAWNED_LOG
SPAWN_NAME=lo6 spawn "$NS_GW" "$PY" -u "$ITEST_DIR/echo_server.py" ::1 8080
LO6_LOG=$SPAWNED_LOG
SPAWN_NAME=own spawn "$NS_GW" "$PY" -u "$ITEST_DIR/echo_server.py" "$GW_S4_ADDR" 8081
OWN_LOG=$SPAWNED_LOG
wait_port "$NS_GW" 127.0.0.1 8080
wait_port "$NS_GW" ::1 8080
wait_port "$NS_GW" "$GW_S4_ADDR" 8081
echo_serve "$NS_S4" "$S4_ADDR" 7
SPAWN_NAME=uecho4 spawn "$NS_S4" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S4_ADDR" 7

printf 'alice:%s\n' "$(mkpasswd -m sha-512 a)" >"$TMP/users"
# The README's hardened example (listen lines come from gw_start).
hardened()
{
	cat <<-EOF
		users $TMP/users
		rule deny to 127.0.0.0/8
		rule deny to ::1/128
		rule deny to 10.0.0.0/8
		rule allow from 198.51.100.0/24
		rule allow from 2001:db8:c6::/64
		rule deny
	EOF
}
hardened >"$TMP/gw.conf"
gw_start --config "$TMP/gw.conf"

probe4() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 4 "$GW4_ADDR" "$GW_PORT" "$@"; }
udp4() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_udp.py" --user alice --password a "$GW4_ADDR" "$GW_PORT" "$@"; }

# refused WHAT DST PORT [--atyp 3]: REP 0x02 at once, closed.
refused()
{
	local what=$1 dst=$2 port=$3 out
	shift 3
	out=$(probe4 connect "$dst" "$port" --user alice --password a "$@" send:x recv:1)
	assert_contains "$out" "reply 02" "$what ($dst:$port): refused with 0x02"
	assert_not_contains "$out" "data" "$what: nothing relayed"
}

out=$(probe4 connect "$S4_ADDR" 7 --user alice --password a send:ok recv:2)
assert_contains "$out" "data ok" "control: a server beyond the gateway is reached"

# --- Unspecified, every spelling: never a destination.
for dst in 0.0.0.0 :: ::ffff:0.0.0.0 0.1.2.3; do
	refused "unspecified literal" "$dst" 8080
done
refused "name \"0.0.0.0\"" 0.0.0.0 8080 --atyp 3
refused "name \"::\"" :: 8080 --atyp 3
refused "name \"[::]\"" "[::]" 8080 --atyp 3
refused "a name whose A is 0.0.0.0" zero.test 8080
wait_log "$GW_LOG" 'destination refused: unspecified address .*name=zero.test addr=0.0.0.0:8080'
pass "the log says why: unspecified address"
# --- Loopback and the host's own addresses, in every spelling and through names.
for dst in 127.0.0.1 ::1 ::ffff:127.0.0.1 127.0.0.2; do
	refused "loopback" "$dst" 8080
done
refused "a name whose A is 127.0.0.1" lo.test 8080
refused "a name whose AAAA is ::1" lo6.test 8080
for dst in "$GW4_ADDR" "$GW6_ADDR" "$GW_S4_ADDR" "$GW_S6_ADDR" "::ffff:$GW_S4_ADDR"; do
	refused "own address" "$dst" 8081
done
refused "own address as a name" "$GW_S4_ADDR" 8081 --atyp 3
refused "a name resolving to an own address" self.test 8081
wait_log "$GW_LOG" "destination refused: the gateway's own host, no rule names it .*addr=$GW_S4_ADDR:8081"
pass "the log says why: the gateway's own host"
# BIND for a name whose address is unspecified; RESOLVE answers that would lead to the host.
out=$(probe4 connect zero.test 0 --user alice --password a --cmd 2)
assert_not_contains "$out" "reply 00" "BIND for a name whose A is 0.0.0.0: refused"
wait_log "$GW_LOG" 'destination refused: unspecified address .*cmd=bind name=zero.test'
pass "BIND: the unspecified address logged as refused"
out=$(probe4 connect web4.test 0 --user alice --password a --cmd 240)
assert_contains "$out" "bnd $S4_ADDR 0" "control: RESOLVE web4.test answers"
for name in zero.test self.test; do
	out=$(probe4 connect "$name" 0 --user alice --password a --cmd 240)
	assert_contains "$out" "reply 02" "RESOLVE $name (the gateway host): 0x02"
done
# curl as a real client, both ways of sending the destination.
nsx "$NS_C4" curl -sS --max-time 5 --socks5 "alice:a@$GW4_ADDR:$GW_PORT" http://0.0.0.0:8080/ 2>"$TMP/curl.err" &&
	fail "curl --socks5 http://0.0.0.0:8080/ succeeded"
assert_contains "$(cat "$TMP/curl.err")" "(2)" "curl --socks5 0.0.0.0: refused (0x02)"
nsx "$NS_C4" curl -sS --max-time 5 --socks5-hostname "alice:a@$GW4_ADDR:$GW_PORT" http://zero.test:8080/ 2>"$TMP/curl.err" &&
	fail "curl --socks5-hostname zero.test succeeded"
assert_contains "$(cat "$TMP/curl.err")" "(2)" "curl --socks5-hostname zero.test: refused (0x02)"

# --- UDP: datagrams to the host's own DNS server (dnsmasq on 127.0.0.1 and the client-side
# addresses) are dropped, whatever the spelling.
out=$(udp4 echo "$S4_ADDR" 7 hi)
assert_contains "$out" "from $S4_ADDR 7 hi" "control: a UDP datagram beyond the gateway is relayed"
n=0
for dst in 0.0.0.0 ::ffff:0.0.0.0 :: zero.test 127.0.0.1 "$GW4_ADDR" "$GW_S4_ADDR" self.test lo.test; do
	n=$((n + 1))
	out=$(udp4 -t 1 dns "$dst" "probe$n.test" A)
	assert_contains "$out" "timeout" "UDP DNS query to $dst:53: no answer"
done
grep -q 'probe[0-9]*\.test' "$DNS_LOG" && fail "a datagram reached dnsmasq: $(grep 'probe[0-9]*\.test' "$DNS_LOG")"
pass "no datagram reached the host's own DNS server"
wait_log "$GW_LOG" 'destination refused: unspecified address .*cmd=udp'

# --- Numeric-looking names: 0x04, not the connect timeout's 0x06, and no DNS query.
for name in 127.1 0177.0.0.1 0x7f.0.0.1 2130706433 127.0.0.1. 1.2.3.4.5; do
	out=$(probe4 connect "$name" 8080 --user alice --password a --atyp 3)
	assert_contains "$out" "reply 04" "numeric name $name: 0x04"
done
wait_log "$GW_LOG" 'destination refused: a numeric name that is not an address .*name=0177.0.0.1 '
pass "the log says why: a numeric name"
grep -qE 'query.* (127\.1|0177|0x7f|2130706433|1\.2\.3\.4\.5)' "$DNS_LOG" &&
	fail "a numeric name was looked up: $(grep -E '0177|0x7f' "$DNS_LOG")"
pass "numeric names never reached the DNS server"

# --- Nothing above reached a service on the gateway host.
for log in "$LO4_LOG" "$LO6_LOG" "$OWN_LOG"; do
	grep -q '^conn' "$log" && fail "a service on the gateway host was reached: $(cat "$log")"
done
pass "the loopback-only and own-address services saw no connection"

# --- A rule that names the host opens exactly that; unspecified stays refused.
{
	echo "rule allow to 127.0.0.1/32 port 8080"
	hardened
} >"$TMP/gw.conf"
gw_reload
out=$(probe4 connect 127.0.0.1 8080 --user alice --password a send:ok recv:2)
assert_contains "$out" "data ok" "rule allow to 127.0.0.1/32 port 8080: served"
refused "unspecified, even with the host named" 0.0.0.0 8080
refused "::1 is not named" ::1 8080
refused "another port is not named" "$GW_S4_ADDR" 8081

# --- Proxy loops. A CONNECT to the gateway's own listener: 0x02 at the first level.
fds() { ls "/proc/$1/fd" | wc -l; }
nested=""
for _ in $(seq 500); do
	nested+="050100050100017f000001$(printf %04x 1090)"
done
s46_spawn "$NS_GW" loopgw 127.0.0.1 1090
LOOP_PID=$SPAWNED_PID
LOOP_LOG=$SPAWNED_LOG
f0=$(fds "$LOOP_PID")
out=$(nsx "$NS_GW" "$PY" "$ITEST_DIR/socks5_probe.py" -t 5 127.0.0.1 1090 raw "$nested")
assert_contains "$out" "recv 050005020001000000000000" "500 nested CONNECTs to a loopback listener: 0x02 at the first"
assert_contains "$out" "eof" "nested CONNECTs: closed after the first reply"
f1=$(fds "$LOOP_PID")
[ "$f1" -le "$f0" ] || fail "descriptors grew from $f0 to $f1"
pass "the gateway's descriptor count stayed flat ($f0 -> $f1)"
wait_log "$LOOP_LOG" "destination refused: the gateway's own listener \(proxy loop\) .*addr=127.0.0.1:1090"
out=$(probe4 connect "$GW4_ADDR" "$GW_PORT" --user alice --password a)
assert_contains "$out" "reply 02" "CONNECT to the gateway's own listening address: 0x02"
out=$(nsx "$NS_GW" "$PY" "$ITEST_DIR/socks5_probe.py" -t 5 127.0.0.1 1090 connect lo.test 1090)
assert_contains "$out" "reply 02" "CONNECT to its own listener by name: 0x02"

# An upstream that is the gateway itself.
s46_spawn "$NS_GW" selfup 127.0.0.1 1091 --upstream 'me 127.0.0.1:1091' --route 'via me'
SELF_LOG=$SPAWNED_LOG
out=$(nsx "$NS_GW" "$PY" "$ITEST_DIR/socks5_probe.py" -t 5 127.0.0.1 1091 connect "$S4_ADDR" 7)
assert_contains "$out" "reply 02" "a route through an upstream that is the gateway's own listener: 0x02"
wait_log "$SELF_LOG" "destination refused: the gateway's own listener \(proxy loop\) client=- cmd=upstream name=me"
[ "$(grep -c 'conn client' "$SELF_LOG")" -eq 1 ] || fail "the loop went round: $(cat "$SELF_LOG")"
pass "the upstream loop stopped at the first hop"
