#!/bin/bash
# test_agent_literal.sh — IP literals of the other family: IPv6-literal names, NAT64 prefixes, v4-mapped addresses, the DoH canary.
. "$(dirname "$0")/lib.sh"

topo_up
mkdir -p "$TMP/www4" "$TMP/www6"
printf 'hello from s6 by literal\n' >"$TMP/www6/index.html"
printf 'hello from s4 by literal\n' >"$TMP/www4/index.html"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
gw_start
CG4=$(cg_make app4)
CG6=$(cg_make app6)
Q=$ITEST_DIR/agent_dns_query.py
# 203.0.113.2 under 2001:db8:64::/64 (RFC 6052 §2.2: the u octet, byte 8, stays zero).
NSP_ADDR=2001:db8:64:0:cb:71:200:0

agent_spawn "$NS_C4" a4 "$TMP/a4.sock" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG4" --no-pin \
	--fake-state none --dns-upstream "$GW4_ADDR" --check-exists
agent_spawn "$NS_C6" a6 "$TMP/a6.sock" --gateway "[$GW6_ADDR]:$GW_PORT" --cgroup "$CG6" --no-pin \
	--fake-state none --dns-upstream "$GW6_ADDR" --nat64-prefix 64:ff9b::/96 \
	--nat64-prefix 2001:db8:64::/64 --via-gateway 203.0.113.0/24

# rcode NS CG SERVER NAME TYPE: the answer line of a query a program in CG sends to SERVER
# on port 53 (the BPF programs steer it to the agent's responder).
rcode() { IN_CG=$2 nsx "$1" "$PY" "$Q" "$3" 53 "$4" "$5"; }

# gw_re DEST: DEST as an extended regular expression.
gw_re() { printf '%s' "$1" | sed 's/[].[]/\\&/g'; }

# gw_dest DEST: how many connections to DEST the gateway has logged.
gw_dest() { log_count "$GW_LOG" "dest=$(gw_re "$1") "; }

log "c4: curl -4 reaches the IPv6-only s6 by its IPv6-literal name"
body=$(IN_CG=$CG4 nsx "$NS_C4" curl -4 -sS --max-time 10 http://2001-db8-6--2.ipv6-literal.net/) ||
	fail "curl -4 http://2001-db8-6--2.ipv6-literal.net/ failed"
assert_eq "$body" "$(cat "$TMP/www6/index.html")" "curl -4 got s6's page by its literal name"
line=$(conn_line "$GW_LOG" "dest=\[$S6_ADDR\]:80 ")
assert_contains "$line" "dest=[$S6_ADDR]:80" "the gateway was asked for the IPv6 address (ATYP=IPv6), not the name"
assert_not_contains "$(cat "$GW_LOG")" "ipv6-literal" "the gateway never saw the pseudo-name"

log "c4: the pseudo-names in DNS"
r=$(rcode "$NS_C4" "$CG4" "$GW4_ADDR" 2001-db8-6--2.ipv6-literal.net A)
case $r in *"rcode=0 "*"ans=198.1"[89].*) pass "A gets a fake IPv4 address" ;; *) fail "A answer: $r" ;; esac
r=$(rcode "$NS_C4" "$CG4" "$GW4_ADDR" 2001-DB8-6--2.IPV6-LITERAL.NET AAAA)
assert_contains "$r" "rcode=0 " "AAAA for a literal name is answered"
assert_contains "$r" "ans=$S6_ADDR " "AAAA answers the address the name carries"
for bad in 2001-db8---2.ipv6-literal.net www.ipv6-literal.net fe80--1s2.ipv6-literal.net; do
	r=$(rcode "$NS_C4" "$CG4" "$GW4_ADDR" "$bad" A)
	assert_contains "$r" "rcode=3 " "$bad is NXDOMAIN"
done
out=$(IN_CG=$CG4 nsx "$NS_C4" "$PY" -c 'import socket
try:
    print(socket.getaddrinfo("2001-db8-6-2.ipv6-literal.net", 80, socket.AF_INET)[0][4][0])
except socket.gaierror as e:
    print("gaierror", e.errno == socket.EAI_NONAME)') || fail "resolve a malformed literal name"
assert_eq "$out" "gaierror True" "a program's lookup of a malformed literal name fails (NXDOMAIN)"

log "the DoH canary is NXDOMAIN for programs of both agents"
r=$(rcode "$NS_C4" "$CG4" "$GW4_ADDR" use-application-dns.net A)
assert_contains "$r" "rcode=3 " "use-application-dns.net A is NXDOMAIN (c4)"
r=$(rcode "$NS_C6" "$CG6" "$GW6_ADDR" use-application-dns.net AAAA)
assert_contains "$r" "rcode=3 " "use-application-dns.net AAAA is NXDOMAIN (c6)"
out=$(IN_CG=$CG6 nsx "$NS_C6" "$PY" -c 'import socket
try:
    socket.getaddrinfo("use-application-dns.net", 443)
    print("resolved")
except socket.gaierror as e:
    print("gaierror", e.errno == socket.EAI_NONAME)') || fail "resolve the canary"
assert_eq "$out" "gaierror True" "a program's lookup of the canary fails (NXDOMAIN)"

# curl_s4 URL WHAT: curl -6 in c6 fetches s4's page at URL; the gateway logs one more
# connection to the IPv4 address.
curl_s4()
{
	local n0 body
	n0=$(gw_dest "$S4_ADDR:80")
	body=$(IN_CG=$CG6 nsx "$NS_C6" curl -6 -sS --max-time 10 -g "$1") || fail "curl -6 $1 failed"
	assert_eq "$body" "$(cat "$TMP/www4/index.html")" "curl -6 $1 got s4's page ($2)"
	wait_log "$GW_LOG" "dest=$(gw_re "$S4_ADDR:80") " $((n0 + 1)) >/dev/null ||
		fail "the gateway did not log dest=$S4_ADDR:80 for $1"
	pass "the gateway was asked for $S4_ADDR:80 (ATYP=IPv4)"
}

log "c6: an IPv6-only client reaches the IPv4-only s4 through NAT64 prefixes"
curl_s4 "http://[64:ff9b::$S4_ADDR]/" "the well-known prefix"
curl_s4 "http://[$NSP_ADDR]/" "a network-specific /64 prefix"
assert_not_contains "$(cat "$GW_LOG")" "dest=[64:ff9b" "the gateway never saw a NAT64 address"
assert_not_contains "$(cat "$GW_LOG")" "dest=[2001:db8:64:" "nor one of the /64 prefix"

log "c6: an AF_INET6 socket to a v4-mapped address follows the IPv4 policy (--via-gateway)"
curl_s4 "http://[::ffff:$S4_ADDR]/" "a v4-mapped address"

log "bad values are refused with one line and exit status 2"
for opt in "--nat64-prefix 64:ff9b::/95" "--nat64-prefix ::ffff:0:0/96" "--literal-suffix a_b"; do
	rc=0
	# shellcheck disable=SC2086 # opt is an option and its value
	out=$("$S46_BIN" agent --gateway 127.0.0.1:1080 --config none --check-config $opt 2>&1) || rc=$?
	assert_eq "$rc" 2 "$opt: exit status 2"
	assert_contains "$out" "socks46 agent: ${opt%% *}: " "$opt: one line naming the option"
done
exit 0
