#!/bin/bash
# test_gw_relay.sh — the gateway joins IPv4-only clients to IPv6-only servers and back, with real SOCKS clients.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
mkdir -p "$TMP/www4" "$TMP/www6"
for c in curl py ncat; do
	printf 'hello from s6 to %s\n' "$c" >"$TMP/www6/$c.html"
	printf 'hello from s4 to %s\n' "$c" >"$TMP/www4/$c.html"
done
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
WEB6_LOG=$SPAWNED_LOG
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
WEB4_LOG=$SPAWNED_LOG
echo_serve "$NS_S4" "$S4_ADDR" 7
ECHO4_LOG=$SPAWNED_LOG
echo_serve "$NS_S6" "$S6_ADDR" 7
ECHO6_LOG=$SPAWNED_LOG
# Only one family listens on these ports of dual.test: the other one refuses.
echo_serve "$NS_S4" "$S4_ADDR" 81
echo_serve "$NS_S6" "$S6_ADDR" 82
# A long connect timeout: the Happy Eyeballs check below relies on it.
gw_start --connect-timeout 30

probe() { nsx "$1" "$PY" "$ITEST_DIR/socks5_probe.py" "${@:2}"; }

# curl_via CLIENT_NS PROXY NAME PAGE SERVER_LOG: fetch a page by name through the gateway.
curl_via()
{
	local body
	body=$(nsx "$1" curl -sS --max-time 10 --socks5-hostname "$2" "http://$3/$4") ||
		fail "curl from ${1#"$T"} to $3 through $2"
	printf '%s\n' "$body"
}

# --- c4 (IPv4 only) reaches s6 (IPv6 only) by name, c6 reaches s4.
body=$(curl_via "$NS_C4" "$GW4_ADDR:$GW_PORT" web6.test curl.html)
assert_eq "$body" "$(cat "$TMP/www6/curl.html")" "curl: c4 -> web6.test page"
assert_contains "$(cat "$WEB6_LOG")" "[$GW_S6_ADDR]" "s6 saw the gateway's IPv6 address"
assert_contains "$(cat "$WEB6_LOG")" "url:/curl.html" "s6 served the request"
body=$(curl_via "$NS_C6" "[$GW6_ADDR]:$GW_PORT" web4.test curl.html)
assert_eq "$body" "$(cat "$TMP/www4/curl.html")" "curl: c6 -> web4.test page"
assert_contains "$(cat "$WEB4_LOG")" "$GW_S4_ADDR:" "s4 saw the gateway's IPv4 address"
assert_contains "$(cat "$WEB4_LOG")" "url:/curl.html" "s4 served the request"

# PySocks with remote name resolution (rdns), over both client families.
pysocks() { nsx "$1" "$PY" "$ITEST_DIR/pysocks_get.py" "$2" "$GW_PORT" "${@:3}"; }
body=$(pysocks "$NS_C4" "$GW4_ADDR" web6.test py.html) || fail "PySocks c4 -> web6.test"
assert_eq "$body" "$(cat "$TMP/www6/py.html")" "PySocks: c4 -> web6.test page"
body=$(pysocks "$NS_C6" "$GW6_ADDR" web4.test py.html) || fail "PySocks c6 -> web4.test"
assert_eq "$body" "$(cat "$TMP/www4/py.html")" "PySocks: c6 -> web4.test page"
assert_contains "$(cat "$WEB6_LOG")" "url:/py.html" "s6 served PySocks"

# ncat as a SOCKS5 client resolving remotely.
ncat_get()
{
	printf 'GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n' "$4" "$3" |
		nsx "$1" ncat -w 5 --proxy "$2" --proxy-type socks5 --proxy-dns remote "$3" 80 |
		sed '1,/^\r$/d'
}
body=$(ncat_get "$NS_C4" "$GW4_ADDR:$GW_PORT" web6.test ncat.html)
assert_eq "$body" "$(cat "$TMP/www6/ncat.html")" "ncat: c4 -> web6.test page"
body=$(ncat_get "$NS_C6" "[$GW6_ADDR]:$GW_PORT" web4.test ncat.html)
assert_eq "$body" "$(cat "$TMP/www4/ncat.html")" "ncat: c6 -> web4.test page"
assert_contains "$(cat "$WEB4_LOG")" "url:/ncat.html" "s4 served ncat"

# --- BND.ADDR/BND.PORT are the real local end of the outbound connection.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect web6.test 7 send:x recv:1)
assert_contains "$out" "reply 00" "CONNECT web6.test:7 succeeds"
read -r _ bnd_addr bnd_port <<<"$(grep '^bnd ' <<<"$out")"
assert_eq "$bnd_addr" "$GW_S6_ADDR" "BND.ADDR is the gateway's address on the s6 link"
assert_contains "$(cat "$ECHO6_LOG")" "conn $bnd_addr $bnd_port" "BND.PORT is the source port s6 saw"
out=$(probe "$NS_C6" "$GW6_ADDR" "$GW_PORT" connect "$S4_ADDR" 7 send:x recv:1)
read -r _ bnd_addr bnd_port <<<"$(grep '^bnd ' <<<"$out")"
assert_eq "$bnd_addr" "$GW_S4_ADDR" "BND.ADDR (ATYP IPv4 request) is the gateway's s4-link address"
assert_contains "$(cat "$ECHO4_LOG")" "conn $bnd_addr $bnd_port" "BND.PORT is the source port s4 saw"
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect "$S6_ADDR" 7 send:v6 recv:2)
assert_contains "$out" "data v6" "ATYP IPv6 request from an IPv4 client is relayed"

# --- Half-close: the client shuts its sending side and still gets the answer
# the server sends only after it saw that EOF.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect web6.test 7 send:hello recv:5 shut readall)
assert_contains "$out" 'data EOF 5\x0a' "half-close relayed c4 -> s6 and the reply came back"
assert_contains "$out" "eof" "server's close relayed to the client"
out=$(probe "$NS_C6" "$GW6_ADDR" "$GW_PORT" connect web4.test 7 send:hello shut readall)
assert_contains "$out" 'data helloEOF 5\x0a' "half-close relayed c6 -> s4"

# --- Split handshake: every byte in its own segment.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect web6.test 7 --split send:split recv:5)
assert_contains "$out" "data split" "one-byte-at-a-time handshake works"

# --- Pipelined: greeting, request and first data in one write; the data must not be lost.
out=$(probe "$NS_C6" "$GW6_ADDR" "$GW_PORT" connect web4.test 7 --pipeline send:early recv:5 shut readall)
assert_contains "$out" "reply 00" "pipelined handshake answered"
assert_contains "$out" "data early" "bytes sent with the request are relayed"
assert_contains "$out" 'EOF 5\x0a' "exactly those bytes reached the server"

# --- An IP literal sent as DOMAINNAME is used as the address.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect "$S6_ADDR" 7 --atyp 3 send:lit recv:3)
assert_contains "$out" "data lit" "IPv6 literal as DOMAINNAME"

# --- dual.test: every resolved address is tried; the family whose port is open wins.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect dual.test 81 send:d4 recv:2)
assert_contains "$out" "bnd $GW_S4_ADDR " "dual.test:81 reached over IPv4"
assert_contains "$out" "data d4" "dual.test:81 relayed"
out=$(probe "$NS_C6" "$GW6_ADDR" "$GW_PORT" connect dual.test 82 send:d6 recv:2)
assert_contains "$out" "bnd $GW_S6_ADDR " "dual.test:82 reached over IPv6"
assert_contains "$out" "data d6" "dual.test:82 relayed"

# --- Happy Eyeballs: he.test's IPv6 address (preferred) never answers; the
# IPv4 one is tried after the attempt delay, long before the connect timeout.
topo_blackhole
# The client waits at most 20 s for the reply, the IPv6 attempt would fail only
# after 30 s (--connect-timeout): a reply at all is the fallback's doing.
out=$(probe "$NS_C6" -t 20 "$GW6_ADDR" "$GW_PORT" connect he.test 7 send:he recv:2)
assert_contains "$out" "reply 00" "he.test answered before the IPv6 attempt could time out"
assert_contains "$out" "bnd $GW_S4_ADDR " "he.test reached over IPv4 while IPv6 hangs"
assert_contains "$out" "data he" "he.test relayed"

# --- RESOLVE (Tor extension 0xF0): the name's address in BND.ADDR.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect web6.test 0 --cmd 0xf0)
assert_contains "$out" "reply 00" "RESOLVE web6.test succeeds"
assert_contains "$out" "bnd $S6_ADDR " "RESOLVE web6.test -> its AAAA"
out=$(probe "$NS_C6" "$GW6_ADDR" "$GW_PORT" connect web4.test 0 --cmd 0xf0)
assert_contains "$out" "bnd $S4_ADDR " "RESOLVE web4.test -> its A"
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect nope.test 0 --cmd 0xf0)
assert_contains "$out" "reply 04" "RESOLVE of a name that does not exist -> 0x04"

# --- Many relays at once over both client families, each with 1 MB echoed and checked.
pids=()
for i in $(seq 24); do
	if [ $((i % 2)) = 0 ]; then
		cns=$NS_C4 gwa=$GW4_ADDR dst=web6.test
	else
		cns=$NS_C6 gwa=$GW6_ADDR dst=web4.test
	fi
	nsx "$cns" "$PY" "$ITEST_DIR/socks5_probe.py" -t 20 "$gwa" "$GW_PORT" \
		connect "$dst" 7 echo:1000000 shut readall >"$TMP/par$i.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 24); do
	out=$(cat "$TMP/par$i.out")
	assert_contains "$out" "echo ok 1000000" "parallel relay $i: 1 MB echoed intact" >/dev/null
	assert_contains "$out" 'EOF 1000000\x0a' "parallel relay $i: half-close after 1 MB" >/dev/null
done
pass "24 parallel relays, 1 MB each way, intact"

# RESOLVE_PTR (0xF1): the address's name (dnsmasq has PTR records for its host-records).
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect "$S6_ADDR" 0 --cmd 0xf1)
assert_contains "$out" "reply 00" "RESOLVE_PTR $S6_ADDR succeeds"
assert_contains "$out" "bnd web6.test " "RESOLVE_PTR $S6_ADDR -> web6.test"
out=$(probe "$NS_C6" "$GW6_ADDR" "$GW_PORT" connect "$S4_ADDR" 0 --cmd 0xf1)
assert_contains "$out" "bnd web4.test " "RESOLVE_PTR $S4_ADDR -> web4.test"

# --- A larger transfer arrives intact in both directions.
head -c 3000000 /dev/urandom >"$TMP/www6/big.bin"
nsx "$NS_C4" curl -sS --max-time 20 --socks5-hostname "$GW4_ADDR:$GW_PORT" \
	-o "$TMP/big.out" http://web6.test/big.bin || fail "curl big file"
assert_eq "$(md5sum <"$TMP/big.out")" "$(md5sum <"$TMP/www6/big.bin")" "3 MB download intact"

kill -0 "$GW_PID" 2>/dev/null || fail "gateway died"
pass "gateway still running"

# --- Family preference for names with both: IPv6 first by default, --prefer ipv4 turns it.
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect dual.test 7 send:p recv:1)
assert_contains "$out" "bnd $GW_S6_ADDR " "dual.test reached over IPv6 by default"

# live_marks DST: MARKS="1 connection [fwmark:0x...]" for the gateway's live connection to DST.
live_marks()
{
	rm -f "$TMP/done"
	spawn "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "$GW4_ADDR" "$GW_PORT" \
		connect "$1" 7 send:m recv:1 wait:"$TMP/done"
	for _ in $(seq 100); do
		grep -q "data m" "$SPAWNED_LOG" && break
		sleep 0.05
	done
	# (nsenter only: ss -e looks for the cgroup2 mount, which ip netns exec hides.)
	conns=$(NS_KEEP_FS=1 nsx "$NS_GW" ss -Htne "dport = :7")
	MARKS="$(grep -c . <<<"$conns") connection $(grep -o 'fwmark:0x[0-9a-f]*' <<<"$conns")"
	touch "$TMP/done"
	wait "$SPAWNED_PID"
}
live_marks "$S4_ADDR"
assert_eq "$MARKS" "1 connection " "no SO_MARK on outbound connections by default"
stop_pid "$GW_PID"
gw_start --prefer ipv4 --mark 0x5346
out=$(probe "$NS_C4" "$GW4_ADDR" "$GW_PORT" connect dual.test 7 send:p recv:1)
assert_contains "$out" "bnd $GW_S4_ADDR " "dual.test reached over IPv4 with --prefer ipv4"
live_marks "$S4_ADDR"
assert_eq "$MARKS" "1 connection fwmark:0x5346" "--mark 0x5346 on an outbound IPv4 connection"
live_marks "$S6_ADDR"
assert_eq "$MARKS" "1 connection fwmark:0x5346" "--mark 0x5346 on an outbound IPv6 connection"
