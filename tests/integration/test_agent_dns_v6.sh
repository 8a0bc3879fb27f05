#!/bin/bash
# test_agent_dns_v6.sh — an IPv6-only client: fake AAAA over IPv6 DNS (UDP both ways, TCP), NXDOMAIN via the gateway, an IPv4-only server.
. "$(dirname "$0")/lib.sh"

Q=$ITEST_DIR/agent_dns_query.py
CTL=$TMP/agent.sock

topo_up
gw_start
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
CG=$(cg_make apps6)

agent_spawn "$NS_C6" v6 "$CTL" --gateway "[$GW6_ADDR]:$GW_PORT" --cgroup "$CG" --no-pin \
	--fake-state "$TMP/fakeip.state" --dns-upstream "$GW6_ADDR" --fake-pool6 2001:db8:f6::/64 \
	--fake-pool4 198.18.0.0/30 \
	--check-exists --log-level debug

inc() { IN_CG=$CG nsx "$NS_C6" "$@"; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

log "DNS to the IPv6 resolver address is answered by the agent"
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 web4.test AAAA) || fail "$r"
F6=$(field "$r" ans)
case $F6 in 2001:db8:f6::*) pass "AAAA for an IPv4-only name: a fake from the configured pool ($F6)" ;; *) fail "answer '$r'" ;; esac
assert_eq "$(field "$r" from)" "$GW6_ADDR:53" "unconnected UDP: the answer appears to come from the server asked"
r=$(inc "$PY" "$Q" --tcp "$GW6_ADDR" 53 web4.test AAAA) || fail "$r"
assert_eq "$(field "$r" ans)" "$F6" "DNS over TCP to [$GW6_ADDR]:53 gives the same address"
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 web4.test A) || fail "$r"
case $(field "$r" ans) in 198.1[89].*) pass "A still gets a fake IPv4 address" ;; *) fail "A answer '$r'" ;; esac
log "a full IPv4 pool (/30: two addresses, both within their TTL) is an error, never a wrong mapping"
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 dual.test A) || fail "$r"
case $(field "$r" ans) in 198.18.0.[12]) pass "the second name takes the second address" ;; *) fail "dual.test A: '$r'" ;; esac
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 web6.test A) || fail "$r"
assert_contains "$r" "rcode=2 " "a third name gets SERVFAIL"
assert_contains "$r" "ans=- " "and no address"
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 web4.test A) || fail "$r"
case $(field "$r" ans) in 198.18.0.[12]) pass "names already mapped keep answering" ;; *) fail "web4.test A: '$r'" ;; esac
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 absent.test TXT) || fail "$r"
assert_contains "$r" "rcode=3 " "a TXT query is forwarded and NXDOMAIN comes back"
log "--check-exists: the gateway (RESOLVE) decides whether a faked name exists"
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 nosuch.test AAAA) || fail "$r"
assert_contains "$r" "rcode=3 " "a name the gateway cannot resolve gets NXDOMAIN"
assert_contains "$r" "ans=- " "and no fake address"
out=$(inc getent ahostsv6 nosuch.test)
assert_eq "$?:$out" "2:" "getent fails cleanly for it"
r=$(inc "$PY" "$Q" "$GW6_ADDR" 53 dual.test AAAA) || fail "$r"
case $(field "$r" ans) in 2001:db8:f6::*) pass "an existing name is still faked" ;; *) fail "dual.test: '$r'" ;; esac
out=$(inc busybox nslookup -type=AAAA web4.test "$GW6_ADDR" 2>&1)
assert_contains "$out" "$F6" "busybox nslookup over IPv6 gets the fake address"
out=$(inc getent ahostsv6 web4.test)
assert_contains "$out" "$F6" "getent ahostsv6 (glibc) gets the fake address"

log "an unmodified IPv6-only client reaches the IPv4-only server by name"
out=$(inc curl -6 -sS --max-time 5 http://web4.test/)
assert_eq "$out" "hello from s4" "curl -6 http://web4.test/"
outside=$(nsx "$NS_C6" getent ahosts web4.test)
assert_contains "$outside" "$S4_ADDR" "outside the cgroup the real resolver answers with the real address"
assert_not_contains "$outside" "$F6" "outside the cgroup no fake address"
exit 0
