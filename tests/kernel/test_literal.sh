#!/bin/bash
# test_literal.sh — IP literals on this kernel: NAT64 prefixes in the policy map, IPv6-literal names, v4-mapped connects from AF_INET6 sockets.
. "$(dirname "$0")/klib.sh"
ksetup
Q=$REPO/tests/integration/agent_dns_query.py
agent_start --nat64-prefix 64:ff9b::/96 --nat64-prefix 2001:db8:64::/64

# gw_re DEST: DEST as an extended regular expression.
gw_re() { printf '%s' "$1" | sed 's/[].[]/\\&/g'; }

# gw_dest DEST: connections to DEST the gateway has logged.
gw_dest() { log_count "$TMP/gateway.log" "dest=$(gw_re "$1") "; }

# get_via ADDR DEST EXPECT [get|get-dual]: a connect to ADDR port 80 in the cgroup gets EXPECT
# and the gateway logs one more connection to DEST.
get_via()
{
	local n0
	n0=$(gw_dest "$2")
	kin "$PY" "$PROBE" "${4:-get}" "$1" 80 "$3" || fail "connect to $1"
	wait_log "$TMP/gateway.log" "dest=$(gw_re "$2") " $((n0 + 1)) >/dev/null ||
		fail "the gateway did not log dest=$2 for $1"
	pass "$1 went through the gateway as $2"
}

log "NAT64 prefixes: connect6 sends them to the agent, the gateway gets the IPv4 address"
get_via 64:ff9b::cb00:7102 203.0.113.2:80 hello-s4
get_via 2001:db8:64:0:cb:71:200:0 203.0.113.2:80 hello-s4
assert_not_contains "$(cat "$TMP/gateway.log")" "dest=[64:ff9b" "no NAT64 address reached the gateway"

log "an AF_INET6 socket to a v4-mapped policy address runs connect6 with the mapped address"
get_via "::ffff:203.0.113.2" 203.0.113.2:80 hello-s4 get-dual

log "an IPv6-literal name: a fake IPv4 address whose connect sends the IPv6 address"
F=$(kin "$PY" "$PROBE" dns-udp 203.0.113.53 2001-db8-1--2.ipv6-literal.net 1 unconnected | tail -n 1) ||
	fail "A query for the literal name"
get_via "$F" "[2001:db8:1::2]:80" hello-s6
r=$(kin "$PY" "$Q" 203.0.113.53 53 2001-db8-1--2.ipv6-literal.net AAAA)
assert_contains "$r" "ans=2001:db8:1::2 " "AAAA answers the address the name carries"
r=$(kin "$PY" "$Q" 203.0.113.53 53 2001-db8-1-2.ipv6-literal.net A)
assert_contains "$r" "rcode=3 " "a malformed literal name is NXDOMAIN"
r=$(kin "$PY" "$Q" 2001:db8:1::53 53 use-application-dns.net A)
assert_contains "$r" "rcode=3 " "the DoH canary is NXDOMAIN"
exit 0
