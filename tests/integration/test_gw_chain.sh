#!/bin/bash
# test_gw_chain.sh — three chained gateways, IPv4 -> IPv6 -> IPv4 -> IPv6 hops, the name resolved only by the last one.
. "$(dirname "$0")/lib.sh"
set -u

# Hops (besides topo_up's c4 -> gw over IPv4):
#   gw 2001:db8:12::1/64 <-> g2 2001:db8:12::2/64   IPv6 only
#   g2 203.0.113.129/25  <-> g3 203.0.113.130/25    IPv4 only (g2 and g3 never see gw's 203.0.113.0/24)
#   g3 2001:db8:3d::1/64 <-> d3 2001:db8:3d::2/64   IPv6 only: the destination host
# Only g3 has a DNS server that knows *.chain.test; gw's dnsmasq answers
# NXDOMAIN for them and g2 has no DNS server at all, so each hop must pass the
# name on unresolved.
NS_G2=${T}g2
NS_G3=${T}g3
NS_D3=${T}d3
GW_G2_ADDR=2001:db8:12::1
G2_ADDR=2001:db8:12::2
G2_G3_ADDR=203.0.113.129
G3_ADDR=203.0.113.130
G3_D3_ADDR=2001:db8:3d::1
D3_ADDR=2001:db8:3d::2
# Nobody has these: connects to them time out (see the neighbour entries below).
DEAD_G2=2001:db8:12::99
DEAD_D3=2001:db8:3d::99

# gw reaches g2 by name in the failover part.
DNS_EXTRA=("host-record=g2.test,$G2_ADDR")
topo_up
ns_new g2
ns_new g3
ns_new d3
ns_link "$NS_GW" g2 "$NS_G2" gw
ns_link "$NS_G2" g3 "$NS_G3" g2
ns_link "$NS_G3" d3 "$NS_D3" g3
ns_addr "$NS_GW" g2 "$GW_G2_ADDR/64"
ns_addr "$NS_G2" gw "$G2_ADDR/64"
ns_addr "$NS_G2" g3 "$G2_G3_ADDR/25"
ns_addr "$NS_G3" g2 "$G3_ADDR/25"
ns_addr "$NS_G3" d3 "$G3_D3_ADDR/64"
ns_addr "$NS_D3" g3 "$D3_ADDR/64"
ns_resolv "$NS_G2" 127.0.0.1
ns_resolv "$NS_G3" 127.0.0.1
ns_resolv "$NS_D3" 127.0.0.1
ip -n "$NS_GW" -6 neigh replace "$DEAD_G2" lladdr 02:00:00:00:00:99 dev g2 nud permanent &&
	ip -n "$NS_G3" -6 neigh replace "$DEAD_D3" lladdr 02:00:00:00:00:99 dev d3 nud permanent ||
	fail "blackhole neighbour entries"

dns_serve "$NS_G3" 127.0.0.1 "host-record=far.chain.test,$D3_ADDR" "host-record=slow.chain.test,$DEAD_D3" \
	"host-record=broken.chain.test,$D3_ADDR" "host-record=bad.chain.test,$D3_ADDR"
G3_DNS_LOG=$SPAWNED_LOG
http_serve "$NS_D3" "$D3_ADDR" 80 "$TMP/www"
HTTPD_LOG=$SPAWNED_LOG
echo_serve "$NS_D3" "$D3_ADDR" 7
ECHO_LOG=$SPAWNED_LOG
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"

# g2 wants its own login from gw; gw has the right password, a second entry the wrong one.
printf 'hop1:%s\n' "$(mkpasswd -m sha-512 'hop1 secret')" >"$TMP/g2.users"
printf 'hop1 secret\n' >"$TMP/g2.pw"
printf 'wrong\n' >"$TMP/g2.badpw"

s46_spawn "$NS_G3" g3 "$G3_ADDR" 1080 --dns-server 127.0.0.1 --connect-timeout 2
G3_LOG=$SPAWNED_LOG
# g2 has no resolver: nothing listens on its 127.0.0.1:53.
s46_spawn "$NS_G2" g2 "$G2_ADDR" 1080 --dns-server 127.0.0.1 --users "$TMP/g2.users" \
	--upstream "g3 $G3_ADDR:1080" --route "to * via g3"
G2_LOG=$SPAWNED_LOG
# Hop 1 reads its routes from a config file (the others from flags).
cat >"$TMP/gw.conf" <<-END
	# hop 1: *.chain.test and d3's network through g2
	upstream g2 [$G2_ADDR]:1080 user hop1 password-file $TMP/g2.pw
	upstream g2bad [$G2_ADDR]:1080 user hop1 password-file $TMP/g2.badpw
	upstream g2anon [$G2_ADDR]:1080
	rule deny to denied.chain.test
	route to bad.chain.test via g2bad
	route to anon.chain.test via g2anon
	route to .chain.test via g2
	route to 2001:db8:3d::/64 port 1-1023 via g2
END
gw_start --config "$TMP/gw.conf"

probe() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$@"; }

# --- A web page by name through the three hops.
page=$(nsx "$NS_C4" curl -sS --max-time 10 --socks5-hostname "$GW4_ADDR:$GW_PORT" http://far.chain.test/ 2>&1)
assert_eq "$page" "hello from d3" "curl (IPv4 client) -> gw -v6-> g2 -v4-> g3 -v6-> far.chain.test"
assert_contains "$(cat "$HTTPD_LOG")" "$G3_D3_ADDR" "d3 served g3's address"
line=$(conn_line "$GW_LOG" 'dest=far.chain.test:80')
assert_contains "$line" "client=$C4_ADDR:" "hop 1 logged the client"
assert_contains "$line" "via=upstream:g2([$G2_ADDR]:1080)" "hop 1 went to g2 over IPv6"
line=$(conn_line "$G2_LOG" 'dest=far.chain.test:80')
assert_contains "$line" "client=[$GW_G2_ADDR]:" "hop 2 got the request from gw over IPv6"
assert_contains "$line" "user=hop1" "hop 2 logged gw's login"
assert_contains "$line" "via=upstream:g3($G3_ADDR:1080)" "hop 2 went to g3 over IPv4"
line=$(conn_line "$G3_LOG" 'dest=far.chain.test:80')
assert_contains "$line" "client=$G2_G3_ADDR:" "hop 3 got the request from g2 over IPv4"
assert_contains "$line" "via=[$D3_ADDR]:80" "hop 3 resolved the name and connected over IPv6"
assert_not_contains "$(cat "$DNS_LOG")" "chain.test" "hop 1 never queried DNS for the routed name"
assert_contains "$(cat "$G3_DNS_LOG")" "far.chain.test" "hop 3 resolved far.chain.test"

# --- TCP both ways with a half-close; BND is hop 3's outbound address, passed back unchanged.
out=$(probe -t 10 "$GW4_ADDR" "$GW_PORT" connect far.chain.test 7 echo:300000 shut readall)
assert_contains "$out" "echo ok 300000" "300000 random bytes there and back through three hops"
assert_contains "$out" "EOF 300000" "client's half-close crossed three hops, the answer came back"
read -r _ bnd_addr bnd_port <<<"$(grep '^bnd ' <<<"$out")"
assert_eq "$bnd_addr" "$G3_D3_ADDR" "BND.ADDR is the last hop's address toward d3"
assert_contains "$(cat "$ECHO_LOG")" "conn $bnd_addr $bnd_port" "BND.PORT is the port d3 saw"
# Split and pipelined handshakes at the first hop are carried through the chain too.
out=$(probe "$GW4_ADDR" "$GW_PORT" connect far.chain.test 7 --split send:split recv:5)
assert_contains "$out" "data split" "split handshake through the chain"
out=$(probe "$GW4_ADDR" "$GW_PORT" connect far.chain.test 7 --pipeline send:early recv:5)
assert_contains "$out" "data early" "pipelined request and data through the chain"
# From the IPv6-only client as well.
out=$(nsx "$NS_C6" "$PY" "$ITEST_DIR/pysocks_get.py" "$GW6_ADDR" "$GW_PORT" far.chain.test /)
assert_contains "$out" "hello from d3" "PySocks (IPv6 client) through the chain"

# An address request is routed by CIDR and passed on as an address.
out=$(probe "$GW4_ADDR" "$GW_PORT" connect "$D3_ADDR" 7 send:cidr recv:4)
assert_contains "$out" "data cidr" "[$D3_ADDR]:7 routed by CIDR through the chain"
# (Each hop logs a connection when it ends, which may be after the client saw its data.)
wait_log "$G2_LOG" "dest=\\[$D3_ADDR\\]:7 via=upstream:g3"
pass "hop 2 got the address request"
# Outside the route's port range it goes direct, where gw has no route to d3.
out=$(probe "$GW4_ADDR" "$GW_PORT" connect "$D3_ADDR" 8080)
assert_contains "$out" "reply 03" "[$D3_ADDR]:8080 is not routed: direct, network unreachable"

# --- Failures at the last hop come back with their own code.
expect_rep()
{
	local code=$1 what=$2 out
	shift 2
	out=$(probe -t 8 "$GW4_ADDR" "$GW_PORT" connect "$@")
	assert_contains "$out" "reply $code" "$what -> REP $code through the chain"
	assert_contains "$out" "eof" "$what: closed after the failure reply"
}
expect_rep 04 "name unknown to the last hop" nope.chain.test 80
expect_rep 05 "refused port behind the last hop" far.chain.test 9
expect_rep 06 "connect timeout at the last hop (--connect-timeout 2)" slow.chain.test 80
wait_log "$G3_LOG" 'dest=slow.chain.test:80 .*timed out \(rep 0x06\)'
pass "the last hop's own connect timeout, passed back"
expect_rep 01 "hop 2 rejects hop 1's credentials" bad.chain.test 80
expect_rep 01 "hop 2 wants a login, hop 1 offers none (0xFF)" anon.chain.test 80
# Access rules come before routes: a denied name never reaches the upstream.
expect_rep 02 "a rule at hop 1 denies a routed name" denied.chain.test 80
assert_not_contains "$(cat "$G2_LOG")" "denied.chain.test" "the denied request never reached hop 2"
# RESOLVE (0xF0) goes through the chain: the last hop answers.
out=$(probe "$GW4_ADDR" "$GW_PORT" connect far.chain.test 0 --cmd 0xf0)
assert_contains "$out" "bnd $D3_ADDR " "RESOLVE far.chain.test answered by the last hop"
# BIND through the chain: the last hop listens toward d3; both replies come back unchanged.
bind_start "$NS_C4" "$GW4_ADDR" "$GW_PORT" far.chain.test reply send:up recv:4
assert_eq "$BND_ADDR" "$G3_D3_ADDR" "BIND far.chain.test: first BND.ADDR is the last hop's address toward d3"
out=$(bind_peer "$NS_D3" "$BND_ADDR" "$BND_PORT" recv:2 send:down)
bind_end
read -r _ peer_addr peer_port <<<"$(grep '^local ' <<<"$out")"
assert_eq "$(grep '^bnd ' <<<"$BIND_RES" | sed -n 2p)" "bnd $D3_ADDR $peer_port" \
	"BIND through the chain: second reply carries d3's address"
assert_contains "$out" "data up" "BIND through the chain: client -> d3"
assert_contains "$BIND_RES" "data down" "BIND through the chain: d3 -> client"
# Unrouted names still go direct from hop 1.
page=$(nsx "$NS_C4" curl -sS --max-time 10 --socks5-hostname "$GW4_ADDR:$GW_PORT" http://web6.test/ 2>&1)
assert_eq "$page" "hello from s6" "unrouted web6.test goes direct from hop 1"
kill -0 "$GW_PID" 2>/dev/null || fail "hop 1 died"

# --- Upstreams that fail are skipped for the alternative; after
# --upstream-fail-limit failures in a row they are not tried at all.
# "broken" accepts and echoes the greeting back: not SOCKS5.
echo_serve "$NS_G2" "$G2_ADDR" 1099
BROKEN_LOG=$SPAWNED_LOG
# Here g2 is named by DNS: gw resolves g2.test itself.
G2_UP="g2 g2.test:1080 user hop1 password-file $TMP/g2.pw"
s46_spawn "$NS_GW" gw-alt "$GW4_ADDR" 1081 --log-level debug --connect-timeout 2 --upstream-fail-limit 2 --upstream-bad-time 60 \
	--upstream "broken [$G2_ADDR]:1099" --upstream "dead [$DEAD_G2]:1080" --upstream "$G2_UP" \
	--route "to broken.chain.test via broken,g2" --route "to .chain.test via dead,g2"
ALT_PID=$SPAWNED_PID
ALT_LOG=$SPAWNED_LOG
for i in 1 2 3 4; do
	out=$(probe -t 8 "$GW4_ADDR" 1081 connect broken.chain.test 7 send:brk$i recv:4)
	assert_contains "$out" "data brk$i" "request $i via broken,g2 reaches d3"
done
assert_contains "$(grep 'dest=broken.chain.test:7' "$ALT_LOG" | tail -n 1)" "via=upstream:g2([$G2_ADDR]:1080)" \
	"an upstream given by name is resolved by the gateway"
assert_eq "$(grep -c '^conn ' "$BROKEN_LOG")" 2 "the broken upstream was tried --upstream-fail-limit (2) times, then skipped"
assert_contains "$(cat "$ALT_LOG")" "upstream broken" "marking the upstream bad is logged"
# After --upstream-bad-time the bad upstream is tried again.
# (5 s: the second request must come within the bad time even on a loaded machine.)
s46_spawn "$NS_GW" gw-alt2 "$GW4_ADDR" 1082 --upstream-fail-limit 1 --upstream-bad-time 5 \
	--upstream "broken [$G2_ADDR]:1099" --upstream "$G2_UP" --route "to broken.chain.test via broken,g2"
brk() { grep -c '^conn ' "$BROKEN_LOG"; }
n0=$(brk)
for i in 1 2; do
	out=$(probe -t 8 "$GW4_ADDR" 1082 connect broken.chain.test 7 send:bt$i recv:3)
	assert_contains "$out" "data bt$i" "bad-time: request $i reaches d3"
done
assert_eq "$(($(brk) - n0))" 1 "--upstream-fail-limit 1: tried once, skipped the second time"
# Once the bad time is over, a request tries it again (and still reaches d3 via g2).
retried() {
	out=$(probe -t 8 "$GW4_ADDR" 1082 connect broken.chain.test 7 send:bt3 recv:3)
	assert_contains "$out" "data bt3" "bad-time: a later request reaches d3" >/dev/null
	[ "$(($(brk) - n0))" = 2 ]
}
wait_for 20 retried || fail "the bad upstream was not tried again after --upstream-bad-time 5"
pass "after --upstream-bad-time the upstream is tried again"
# A silent upstream: the request's --connect-timeout bounds all its attempts,
# so until "dead" is marked bad a request may time out; after that, g2 at once.
for i in 1 2; do
	out=$(probe -t 8 "$GW4_ADDR" 1081 connect far.chain.test 7 send:alt$i recv:4)
	case $out in
	*"data alt$i"* | *"reply 06"*) pass "request $i via dead,g2: $(grep '^reply' <<<"$out")" ;;
	*) fail "request $i via dead,g2: $out" ;;
	esac
done
wait_log "$ALT_LOG" 'upstream dead: failed 2 times in a row'
n0=$(log_count "$ALT_LOG" 'upstream dead failed')
out=$(probe -t 8 "$GW4_ADDR" 1081 connect far.chain.test 7 send:alt3 recv:4)
assert_contains "$out" "data alt3" "after two timeouts the dead upstream is skipped for g2"
assert_eq "$(log_count "$ALT_LOG" 'upstream dead failed')" "$n0" "request 3 made no attempt on the dead upstream"
kill -0 "$ALT_PID" 2>/dev/null || fail "gw-alt died"

# --- SIGHUP rereads hop 1's routes; a connection through the chain survives it.
probe -t 10 "$GW4_ADDR" "$GW_PORT" connect far.chain.test 7 send:a recv:1 wait:"$TMP/go" send:b recv:1 \
	>"$TMP/live.out" 2>&1 &
live=$!
wait_log "$TMP/live.out" '^data a'
sed -i '/^route to \.chain\.test via g2$/d' "$TMP/gw.conf"
printf 'hop1 secret\n' >"$TMP/g2.badpw"
gw_reload
touch "$TMP/go"
wait "$live"
assert_contains "$(cat "$TMP/live.out")" "data b" "a live chained connection survives SIGHUP"
out=$(probe "$GW4_ADDR" "$GW_PORT" connect far.chain.test 80)
assert_contains "$out" "reply 04" "after the reload far.chain.test goes direct (gw's DNS: NXDOMAIN)"
assert_contains "$(cat "$DNS_LOG")" "far.chain.test" "hop 1 now resolves far.chain.test itself"
out=$(probe "$GW4_ADDR" "$GW_PORT" connect "$D3_ADDR" 7 send:kept recv:4)
assert_contains "$out" "data kept" "the CIDR route is still there after the reload"
out=$(probe "$GW4_ADDR" "$GW_PORT" connect bad.chain.test 7 send:pw recv:2)
assert_contains "$out" "data pw" "SIGHUP rereads an upstream's password file"

# --- A route naming an unknown upstream: one line FILE:LINE, exit 1.
printf 'upstream a [%s]:1080\nroute to .x.test via b\n' "$G2_ADDR" >"$TMP/bad.conf"
err=$(nsx "$NS_GW" "$S46_BIN" gateway --listen 127.0.0.1:1099 --config "$TMP/bad.conf" 2>&1)
rc=$?
assert_eq "$rc" 1 "bad route: exit status 1"
assert_eq "$(wc -l <<<"$err")" 1 "bad route: one line"
assert_contains "$err" "$TMP/bad.conf:2:" "bad route: FILE:LINE"
assert_contains "$err" "'b'" "bad route: names the unknown upstream"
