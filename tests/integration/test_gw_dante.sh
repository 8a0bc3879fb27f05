#!/bin/bash
# test_gw_dante.sh — interop with Dante both ways: socks46 as Dante's upstream, and Dante as socks46's upstream.
. "$(dirname "$0")/lib.sh"
set -u

command -v danted >/dev/null || fail "danted not installed (dante-server)"

# Besides the usual topology, a Dante host dt:
#   gw 2001:db8:d::1/64  <-> dt 2001:db8:d::2/64    (IPv6 only)
#   dt 2001:db8:d6::1/64 <-> s6 2001:db8:d6::2/64   (a second link of s6)
# dt has no DNS server and no route to s6's 2001:db8:6::2. Dante resolves a
# name before it routes a request, in the family of its external address
# (IPv6 here), but then passes the name on (an IPv4 literal it answers 0x08
# itself, without asking its upstream): dt's /etc/hosts gives it
# web6.test (reachable only through socks46) and ghost.test (which socks46's
# resolver does not know), and d6web.test, which only Dante can resolve.
NS_DT=${T}dt
DT_GW_ADDR=2001:db8:d::1
DT_ADDR=2001:db8:d::2
DT_S6_ADDR=2001:db8:d6::1
S6_DT_ADDR=2001:db8:d6::2
DANTE_PORT=1080
DANTE_LO_PORT=1081

topo_up
ns_new dt
ns_link "$NS_GW" dt "$NS_DT" gw
ns_link "$NS_DT" s6 "$NS_S6" dt
ns_addr "$NS_GW" dt "$DT_GW_ADDR/64"
ns_addr "$NS_DT" gw "$DT_ADDR/64"
ns_addr "$NS_DT" s6 "$DT_S6_ADDR/64"
ns_addr "$NS_S6" dt "$S6_DT_ADDR/64"
ns_resolv "$NS_DT" 127.0.0.1 "$S6_DT_ADDR d6web.test" "$S6_ADDR web6.test" "2001:db8:6::77 ghost.test"

mkdir -p "$TMP/www6"
head -c 3000000 /dev/urandom >"$TMP/www6/big"
BIG_SUM=$(sha256sum <"$TMP/www6/big")
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
HTTPD6_LOG=$SPAWNED_LOG
http_serve "$NS_S6" "$S6_DT_ADDR" 80 "$TMP/www6"
HTTPD6DT_LOG=$SPAWNED_LOG
gw_start --listen "[$DT_GW_ADDR]:$GW_PORT" --upstream "dante [$DT_ADDR]:$DANTE_PORT" \
	--route "to d6web.test via dante"

# dante_conf FILE INTERNAL-LINES EXTRA-LINES: a foreground Dante configuration.
# Debian's danted refuses to start without the two user.* lines.
dante_conf()
{
	cat >"$1" <<-EOF
		logoutput: stderr
		$2
		socksmethod: none
		clientmethod: none
		user.privileged: root
		user.unprivileged: nobody
		timeout.negotiate: 10
		client pass {
			from: 0/0 to: 0/0
			log: error connect disconnect
		}
		socks pass {
			from: 0/0 to: 0/0
			command: connect
			log: error connect disconnect
		}
		$3
	EOF
}

# dante_start NAME PORT CONF [ADDR]: danted in dt with its own pid file (the default one is
# shared); waits until it listens on ADDR:PORT.
dante_start()
{
	SPAWN_NAME=$1 spawn "$NS_DT" danted -f "$3" -p "$TMP/$1.pid"
	DANTE_PID=$SPAWNED_PID
	wait_port "$NS_DT" "${4:-::}" "$2" 10
}

# curl_get NS PROXY URL: the page, fetched through a SOCKS5 proxy that resolves the name.
curl_get()
{
	nsx "$1" curl -sS --max-time 20 --socks5-hostname "$2" "$3" 2>&1
}

# fetch_ok NS PROXY URL WHAT: the page is s6's; then the 3 MB file intact.
fetch_ok()
{
	assert_eq "$(curl_get "$1" "$2" "$3")" "hello from s6" "$4"
	assert_eq "$(curl_get "$1" "$2" "$3big" | sha256sum)" "$BIG_SUM" "$4: 3 MB intact"
}

# --- socks46 as the upstream of Dante: a client of Dante on dt fetches a page
# from s6, which dt cannot reach, by name; socks46 resolves and connects.
dante_conf "$TMP/dante-chain.conf" "internal: 127.0.0.1 port = $DANTE_LO_PORT
external: gw" "route {
	from: 0/0 to: 0/0 via: $DT_GW_ADDR port = $GW_PORT
	proxyprotocol: socks_v5
	command: connect
}"
dante_start dante-chain "$DANTE_LO_PORT" "$TMP/dante-chain.conf" 127.0.0.1
fetch_ok "$NS_DT" "127.0.0.1:$DANTE_LO_PORT" http://web6.test/ "curl -> Dante -> socks46 -> web6.test"
assert_contains "$(cat "$HTTPD6_LOG")" "$GW_S6_ADDR" "s6 served the gateway's address"
line=$(conn_line "$GW_LOG" "client=\\[$DT_ADDR\\]")
assert_contains "$line" "dest=web6.test:80" "Dante passed the name to socks46"
assert_contains "$line" "via=[$S6_ADDR]:80" "socks46 connected to the address it resolved"
# More fetches on the same Dante: its upstream connections are not a one-off.
for i in 2 3; do
	page=$(curl_get "$NS_DT" "127.0.0.1:$DANTE_LO_PORT" http://web6.test/)
	assert_eq "$page" "hello from s6" "fetch $i through Dante and socks46"
done
# socks46's failure reaches Dante's client as a failure, not as a page: Dante
# knows ghost.test, socks46's resolver does not (0x04).
out=$(curl_get "$NS_DT" "127.0.0.1:$DANTE_LO_PORT" http://ghost.test/)
assert_contains "$out" "SOCKS5" "a name socks46 cannot resolve fails through Dante"
assert_not_contains "$out" "hello from" "no page for ghost.test"
line=$(conn_line "$GW_LOG" 'dest=ghost.test:80')
assert_contains "$line" "client=[$DT_ADDR]" "socks46 got ghost.test by name from Dante"
stop_pid "$DANTE_PID"

# --- Dante as the upstream of socks46: an IPv4-only client asks socks46 for a
# name only Dante can resolve; socks46 passes it on to Dante over IPv6.
dante_conf "$TMP/dante-up.conf" "internal: $DT_ADDR port = $DANTE_PORT
external: s6" ""
dante_start dante-up "$DANTE_PORT" "$TMP/dante-up.conf" "$DT_ADDR"
fetch_ok "$NS_C4" "$GW4_ADDR:$GW_PORT" http://d6web.test/ "curl -> socks46 -> Dante -> d6web.test (IPv4 client, IPv6 server)"
assert_contains "$(cat "$HTTPD6DT_LOG")" "$DT_S6_ADDR" "s6 saw Dante's address"
line=$(conn_line "$GW_LOG" 'dest=d6web.test:80')
assert_contains "$line" "client=$C4_ADDR:" "socks46 logged the client's request"
assert_contains "$line" "$DT_ADDR" "socks46 logged the Dante upstream"
assert_not_contains "$(cat "$DNS_LOG")" "d6web.test" "socks46 did not resolve the routed name"
# Python's PySocks as the client, for a second real SOCKS5 implementation.
out=$(nsx "$NS_C6" "$PY" "$ITEST_DIR/pysocks_get.py" "$GW6_ADDR" "$GW_PORT" d6web.test / 2>&1)
assert_contains "$out" "hello from s6" "PySocks (IPv6 client) -> socks46 -> Dante -> d6web.test"
# Dante's failure comes back as a failure: a closed port behind Dante.
out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$GW4_ADDR" "$GW_PORT" connect d6web.test 9)
rep=$(grep '^reply ' <<<"$out")
[ -n "$rep" ] && [ "$rep" != "reply 00" ] || fail "refused port behind Dante: $out"
pass "refused port behind Dante answers $rep"
# Routes that do not match stay direct while Dante is the upstream of others.
page=$(curl_get "$NS_C4" "$GW4_ADDR:$GW_PORT" http://web4.test/)
assert_eq "$page" "hello from s4" "unrouted name goes direct"
stop_pid "$DANTE_PID"
