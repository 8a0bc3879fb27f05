#!/bin/bash
# test_gw_rules.sh — access rules: an allow/deny matrix over client, user, command, destination and port; 0x02 and the logged rule.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
echo_serve "$NS_S4" "$S4_ADDR" 7
echo_serve "$NS_S6" "$S6_ADDR" 7
echo_serve "$NS_S6" "$S6_ADDR" 8
printf 'alice:%s\nbob:%s\n' "$(mkpasswd -m sha-512 a)" "$(mkpasswd -m sha-512 b)" >"$TMP/users"
cat >"$TMP/gw.conf" <<EOF
# access matrix; the line numbers are asserted below
rule deny to .Blocked.test
rule deny user bob to web6.test
rule allow to web4.test port 7
rule deny to web4.test
rule deny from 198.51.100.0/24 cmd resolve
rule deny to 203.0.113.0/24 port 1-100
rule deny from 2001:db8:c6::/64 to 2001:db8:6::/64 port 8
rule deny cmd bind
rule deny to .100.1 port 7
rule allow to $GW4_ADDR/32 port 7
EOF
gw_start --config "$TMP/gw.conf" --users "$TMP/users" --prefer ipv4 \
	--rule 'deny from 2001:db8:c6::2 user bob'
CONF=$TMP/gw.conf

probe4() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 4 "$GW4_ADDR" "$GW_PORT" "$@"; }
probe6() { nsx "$NS_C6" "$PY" "$ITEST_DIR/socks5_probe.py" -t 4 "$GW6_ADDR" "$GW_PORT" "$@"; }

# allowed WHAT PROBE DST PORT USER: the request reaches the echo server.
allowed()
{
	local what=$1 probe=$2 dst=$3 port=$4 user=$5 out
	out=$($probe connect "$dst" "$port" --user "$user" --password "${user:0:1}" send:ok recv:2)
	assert_contains "$out" "reply 00" "$what: allowed"
	assert_contains "$out" "data ok" "$what: relayed"
}

# denied WHAT PROBE DST PORT USER LINE [--cmd N]: REP 0x02, closed, the rule's place logged.
denied()
{
	local what=$1 probe=$2 dst=$3 port=$4 user=$5 where=$6 out n0
	shift 6
	n0=$(wc -l <"$GW_LOG")
	out=$($probe connect "$dst" "$port" --user "$user" --password "${user:0:1}" "$@")
	assert_contains "$out" "reply 02" "$what: REP 0x02"
	assert_contains "$out" "eof" "$what: closed after the reply"
	denial_logged() { tail -n "+$((n0 + 1))" "$GW_LOG" | grep -F "rule $where denies" | grep -qF "port=$port"; }
	wait_for 10 denial_logged || fail "$what: no log line naming rule $where: $(tail -n 3 "$GW_LOG")"
	pass "$what: logged as rule $where"
}

# --- Destination suffix, checked before any DNS query.
denied "suffix .blocked.test (name does not exist)" probe4 x.BLOCKED.test 80 alice "$CONF:2"
denied "suffix matches the name itself" probe4 blocked.test. 80 alice "$CONF:2"
grep -qi blocked "$DNS_LOG" && fail "a denied name was looked up: $(grep -i blocked "$DNS_LOG")"
pass "denied names never reached the DNS server"
out=$(probe4 connect notblocked.test 80 --user alice --password a)
assert_contains "$out" "reply 04" "notblocked.test is not under .blocked.test (0x04 from DNS)"

# --- User.
denied "bob to web6.test" probe4 web6.test 7 bob "$CONF:3"
allowed "alice to web6.test" probe4 web6.test 7 alice
# --- Destination name and port range: allow web4.test:7, deny the rest of web4.test.
allowed "web4.test port 7" probe4 web4.test 7 alice
denied "web4.test port 8" probe4 web4.test 8 alice "$CONF:5"
# --- Destination CIDR with a port range, for an address literal.
denied "203.0.113.2:7 literal" probe4 "$S4_ADDR" 7 alice "$CONF:7"
# --- Names checked per resolved address: dual.test's IPv4 address is denied, the IPv6 one used
# even though IPv4 is preferred.
allowed "dual.test from c4" probe4 dual.test 7 alice
# (The connection's line is written when it ends.)
wait_log "$GW_LOG" 'dest=dual.test:7 '
grep 'dest=dual.test:7' "$GW_LOG" | tail -n 1 | grep -qF "via=[$S6_ADDR]:7" ||
	fail "dual.test did not go over IPv6: $(grep dual.test "$GW_LOG" | tail -n 2)"
pass "dual.test reached over IPv6 only (IPv4 address denied by rule)"
# From c6 both addresses are denied on port 8: 0x02, never 0x05/0x04.
denied "dual.test:8 from c6 (every address denied)" probe6 dual.test 8 alice "$CONF:8"
allowed "dual.test:7 from c6 (port outside the rule)" probe6 dual.test 7 alice
# --- Client CIDR and command: RESOLVE from c4 denied, from c6 allowed.
denied "RESOLVE from c4" probe4 web6.test 0 alice "$CONF:6" --cmd 0xf0
out=$(probe6 connect web6.test 0 --user alice --password a --cmd 0xf0)
assert_contains "$out" "reply 00" "RESOLVE from c6 allowed"
assert_contains "$out" "bnd $S6_ADDR" "RESOLVE from c6 answers web6.test's address"
denied "BIND denied by command" probe4 "$S6_ADDR" 7 alice "$CONF:9" --cmd 2
# --- Name rules never match an address, even one sent as a name: ".100.1" is no name's suffix
# (the gateway's own address, named by line 11: refused by the host, nothing listens).
out=$(probe4 connect "$GW4_ADDR" 7 --user alice --password a --atyp 3)
assert_contains "$out" "reply 05" "IPv4 literal sent as a name: not denied by a name rule (refused: nothing listens)"
# --- A command-line rule, after the file's.
denied "bob from 2001:db8:c6::2 (--rule)" probe6 "$S6_ADDR" 7 bob "--rule 11"
allowed "alice from 2001:db8:c6::2" probe6 "$S6_ADDR" 7 alice

# --- SIGHUP replaces the rules.
sed -i 's/^rule deny to \.Blocked\.test$/rule allow to .blocked.test port 1/' "$CONF"
gw_reload
out=$(probe4 connect x.blocked.test 80 --user alice --password a)
assert_contains "$out" "reply 04" "after SIGHUP .blocked.test:80 is no longer denied"
denied "web4.test port 8 after reload" probe4 web4.test 8 alice "$CONF:5"

# --- A bad rule stops the start with FILE:LINE, and a reload keeps the old rules.
printf 'rule allow\nrule deny to 203.0.113.0/33\n' >"$TMP/bad.conf"
err=$(ip netns exec "$NS_GW" "$S46_BIN" gateway --config "$TMP/bad.conf" --listen 127.0.0.1:1099 2>&1)
rc=$?
assert_eq "$rc" 1 "a bad rule: exit status 1"
assert_contains "$err" "$TMP/bad.conf:2: rule: bad to '203.0.113.0/33'" "a bad rule names FILE:LINE"
printf 'rule permit all\n' >>"$CONF"
gw_reload
assert_contains "$(tail -n 3 "$GW_LOG")" "rule: must start with allow or deny" "reload with a bad rule refused"
denied "old rules kept after a bad reload" probe4 web4.test 8 alice "$CONF:5"
kill -0 "$GW_PID" || fail "gateway died"
pass "gateway still running"
