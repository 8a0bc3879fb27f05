#!/bin/bash
# test_gw_udp.sh — UDP ASSOCIATE: echo and DNS over the association, both families and across them; FRAG, source and lifetime checks; rules; public address.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
SPAWN_NAME=uecho4 spawn "$NS_S4" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S4_ADDR" 7
UECHO4_LOG=$SPAWNED_LOG
SPAWN_NAME=uecho6 spawn "$NS_S6" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S6_ADDR" 7
# The DNS server below is on the gateway host: only rules that name it let clients reach it.
cat >"$TMP/gw.conf" <<EOF
rule allow cmd udp to 127.0.0.1/32 port 53
rule allow cmd udp to $GW4_ADDR port 53
rule allow cmd udp to $GW6_ADDR port 53
EOF
gw_start --config "$TMP/gw.conf"

udp4() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_udp.py" "$GW4_ADDR" "$GW_PORT" "$@"; }
udp6() { nsx "$NS_C6" "$PY" "$ITEST_DIR/socks5_udp.py" "$GW6_ADDR" "$GW_PORT" "$@"; }

# --- An IPv4 client: IPv4, IPv6 and named destinations through one association.
out=$(udp4 echo "$S4_ADDR" 7 v4-to-v4 echo "$S6_ADDR" 7 v4-to-v6 echo web6.test 7 by-name6 \
	echo web4.test 7 by-name4 echo dual.test 7 dual)
assert_contains "$out" "reply 00" "IPv4 client: association granted"
assert_contains "$out" "bnd $GW4_ADDR " "BND.ADDR is the address the control connection reached"
assert_contains "$out" "from $S4_ADDR 7 v4-to-v4" "IPv4 client -> IPv4 server, reply wrapped with its source"
assert_contains "$out" "from $S6_ADDR 7 v4-to-v6" "IPv4 client -> IPv6 server (across families)"
assert_contains "$out" "from $S6_ADDR 7 by-name6" "name in the datagram header resolved (AAAA only)"
assert_contains "$out" "from $S4_ADDR 7 by-name4" "name in the datagram header resolved (A only)"
assert_contains "$out" "from $S6_ADDR 7 dual" "dual-stack name goes over the preferred family (IPv6)"
grep -q "^from $GW_S4_ADDR " "$UECHO4_LOG" || fail "s4 did not see the gateway's address: $(cat "$UECHO4_LOG")"
pass "the server saw the gateway's own address"

# --- An IPv6 client, across to IPv4.
out=$(udp6 echo "$S4_ADDR" 7 v6-to-v4 echo "$S6_ADDR" 7 v6-to-v6 echo web4.test 7 name4)
assert_contains "$out" "bnd $GW6_ADDR " "IPv6 client: BND.ADDR is the gateway's IPv6 address"
assert_contains "$out" "from $S4_ADDR 7 v6-to-v4" "IPv6 client -> IPv4 server (across families)"
assert_contains "$out" "from $S6_ADDR 7 v6-to-v6" "IPv6 client -> IPv6 server"
assert_contains "$out" "from $S4_ADDR 7 name4" "IPv6 client -> name with only an A record"

# --- Real DNS queries to dnsmasq through the association.
out=$(udp4 dns 127.0.0.1 web6.test AAAA dns 127.0.0.1 web4.test A dns 127.0.0.1 nope.test A)
assert_contains "$out" "dns 0 $S6_ADDR" "DNS AAAA query over UDP through the association"
assert_contains "$out" "dns 0 $S4_ADDR" "DNS A query over UDP through the association"
assert_contains "$out" "dns 3" "NXDOMAIN relayed"
out=$(udp6 dns "$GW4_ADDR" dual.test A dns "$GW6_ADDR" dual.test AAAA)
assert_contains "$out" "dns 0 $S4_ADDR" "IPv6 client asks an IPv4 DNS server"
assert_contains "$out" "dns 0 $S6_ADDR" "IPv6 client asks an IPv6 DNS server"

# --- FRAG != 0 dropped, other source ports refused once the first datagram fixed it, bad headers.
out=$(udp4 echo "$S4_ADDR" 7 first frag "$S4_ADDR" 7 fragment stranger "$S4_ADDR" 7 intruder \
	raw 000100017f0000010007 raw 0000 echo "$S4_ADDR" 7 still)
assert_contains "$out" "from $S4_ADDR 7 first" "first datagram relayed"
assert_not_contains "$out" "fragment" "FRAG=1 datagram dropped"
assert_not_contains "$out" "intruder" "datagram from another source port dropped"
assert_contains "$out" "from $S4_ADDR 7 still" "association still works after bad datagrams"
# FRAG=1, the stranger and the two bad headers: the gateway counts each as dropped.
wait_log "$GW_LOG" 'udp client=.* up=2 down=2 dropped='
assert_contains "$(grep 'udp client=' "$GW_LOG" | tail -n 1)" "dropped=4 " "the gateway dropped the 4 bad datagrams"
grep -q "fragment\|intruder" "$UECHO4_LOG" && fail "a dropped datagram reached the server"
pass "dropped datagrams never reached the server"
# DST.ADDR given in the request: datagrams from any other address are dropped.
out=$(udp4 --want 198.51.100.77 0 lost "$S4_ADDR" 7 not-mine)
assert_contains "$out" "timeout" "datagrams from an address other than the requested one are dropped"
wait_log "$GW_LOG" 'udp client=.* up=0 down=0 dropped=1 '
pass "the gateway counted it as dropped"

# --- The association ends with its control connection.
n0=$(grep -c 'info: udp client=' "$GW_LOG")
out=$(udp4 echo "$S4_ADDR" 7 before close echo "$S4_ADDR" 7 after-close)
assert_contains "$out" "from $S4_ADDR 7 before" "relayed while the control connection is open"
assert_contains "$out" "timeout" "nothing relayed after the control connection closed"
grep -q "after-close" "$UECHO4_LOG" && fail "a datagram was relayed after the association ended"
wait_log "$GW_LOG" 'info: udp client=' $((n0 + 1))
assert_contains "$(grep 'udp client=' "$GW_LOG" | tail -n 1)" "up=1 down=1" "association logged with its datagram counts"

# --- Rules: the udp command, and destinations per datagram; public address for NAT.
cat >"$TMP/gw.conf" <<EOF
rule deny cmd udp to 203.0.113.0/24
rule deny from 2001:db8:c6::/64 cmd udp
EOF
gw_reload
out=$(udp4 lost "$S4_ADDR" 7 denied-addr lost web4.test 7 denied-name echo "$S6_ADDR" 7 allowed)
wait_log "$GW_LOG" 'udp client=.* up=1 down=1 dropped=2 '
assert_contains "$out" "from $S6_ADDR 7 allowed" "destination outside the rule relayed"
assert_not_contains "$out" "denied-" "datagrams to a denied CIDR dropped (by address and by name)"
assert_contains "$(grep 'rule .*gw.conf:1 denies' "$GW_LOG" | tail -n 1)" "cmd=udp" "denied datagram logged with its rule"
out=$(udp6 echo "$S6_ADDR" 7 x)
assert_contains "$out" "reply 02" "UDP ASSOCIATE from a denied client: REP 0x02"
# A flood of denied datagrams does not flood the log: at most 50 lines a second per thread.
n0=$(grep -c 'gw.conf:1 denies' "$GW_LOG")
out=$(udp4 flood "$S4_ADDR" 7 2000 sleep 1.1 echo "$S4_ADDR" 7 one-more)
n1=$(grep -c 'gw.conf:1 denies' "$GW_LOG")
[ $((n1 - n0)) -le 150 ] || fail "$((n1 - n0)) log lines for 2000 denied datagrams"
pass "2000 denied datagrams: $((n1 - n0)) log lines"
assert_contains "$(grep 'gw.conf:1 denies' "$GW_LOG" | tail -n 1)" "more denials not logged" \
	"the next logged denial counts the ones not logged"
grep -q "flood" "$UECHO4_LOG" && fail "a denied datagram reached the server"
# A gateway behind NAT announces its public address (the client then sends there).
echo "udp-public-address 203.0.113.100" >>"$TMP/gw.conf"
gw_reload
out=$(udp4 -t 0.3 echo "$S6_ADDR" 7 x)
assert_contains "$out" "bnd 203.0.113.100 " "udp-public-address in BND.ADDR (port the relay's)"

# --- Idle associations: without datagrams either way for udp-idle-timeout (default: the
# idle timeout) the gateway closes the control connection, which ends the association.
echo "idle-timeout 2" >"$TMP/gw.conf"
gw_reload
out=$(udp4 echo "$S4_ADDR" 7 t0 sleep 1 echo "$S4_ADDR" 7 t1 sleep 1 echo "$S4_ADDR" 7 t2 \
	sleep 1 echo "$S4_ADDR" 7 t3 ctlwait 8 echo "$S4_ADDR" 7 after-idle)
assert_contains "$out" "from $S4_ADDR 7 t3" "datagrams every second keep a 2 s association alive for 3 s"
assert_contains "$out" "ctl closed" "the gateway closed the idle association's control connection"
idle=$(sed -n 's/^ctl closed //p' <<<"$out")
awk -v t="$idle" 'BEGIN { exit !(t >= 1.5 && t <= 6) }' || fail "closed after ${idle}s of silence, want about 2"
pass "closed after ${idle}s without datagrams (idle-timeout 2)"
assert_contains "$out" "timeout" "nothing relayed after the idle end"
wait_log "$GW_LOG" 'udp client=.*idle-timeout'
assert_contains "$(grep 'udp client=' "$GW_LOG" | tail -n 1)" "idle-timeout" "idle end logged as such"
printf 'idle-timeout 1\nudp-idle-timeout 0\n' >"$TMP/gw.conf"
gw_reload
out=$(udp4 echo "$S4_ADDR" 7 x ctlwait 2.5 echo "$S4_ADDR" 7 still-there)
assert_contains "$out" "ctl open" "udp-idle-timeout 0: the association outlives the idle timeout"
assert_contains "$out" "from $S4_ADDR 7 still-there" "and still relays"
kill -0 "$GW_PID" || fail "gateway died"
pass "gateway still running"
