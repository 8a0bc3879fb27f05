#!/bin/bash
# test_exempt.sh — sockets of an exempt user (--exempt-user, a co-located gateway's) in an attached cgroup are never redirected; other users' are.
. "$(dirname "$0")/klib.sh"
ksetup
kdns6_up
# Numeric users: they need no entry in the passwd database, and none is made.
EXEMPT=4046
OTHER=4047
agent_start --exempt-user "$EXEMPT"

# as UID CMD...: CMD in the namespace and the test cgroup, as UID (real and effective).
as() { kin setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }

# getent_as UID ARGS...: getent as UID with the test's resolver in /etc/resolv.conf (bound in a
# private mount namespace: the host's file is not touched).
echo "nameserver 127.0.0.2" >"$TMP/resolv.conf"
printf 'hosts: files dns\n' >"$TMP/nsswitch.conf"
chmod 644 "$TMP/resolv.conf" "$TMP/nsswitch.conf"
getent_as()
{
	local uid=$1
	shift
	kin unshare --mount --propagation private sh -c '
		mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/nsswitch.conf || exit 125
		uid=$3
		shift 3
		exec setpriv --reuid="$uid" --regid="$uid" --clear-groups getent "$@"' \
		sh "$TMP/resolv.conf" "$TMP/nsswitch.conf" "$uid" "$@"
}

# answer_as UID SERVER NAME QTYPE MODE: the first address of the answer UID's query gets.
answer_as() { as "$1" "$PY" "$PROBE" dns-answer "${@:2}" | tail -n 1; }

redirects() { jget counters.tcp_redirect; }

log "status names the exempt user"
assert_eq "$(jget exempt_uids.0)" "$EXEMPT" "status lists uid $EXEMPT as exempt"
out=$(SOCKS46_CONTROL=$CTL "$S46_BIN" status)
assert_contains "$out" "exempt users: uid $EXEMPT" "socks46 status shows the exempt uid"

log "a user that is not exempt gets fake answers and is redirected"
out=$(getent_as "$OTHER" ahostsv4 web6.test | awk '{ print $1; exit }')
case $out in
198.1[89].*) pass "getent ahostsv4 web6.test as uid $OTHER -> $out (fake)" ;;
*) fail "getent ahostsv4 web6.test as uid $OTHER: '$out', not a fake address" ;;
esac
F4=$out
F6=$(answer_as "$OTHER" "$DNS_SRV6" web4.test 28 unconnected)
case $F6 in 2001:2:*) pass "AAAA web4.test as uid $OTHER -> $F6 (fake)" ;; *) fail "AAAA: '$F6'" ;; esac
as "$OTHER" "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null || fail "uid $OTHER to $F4"
as "$OTHER" "$PY" "$PROBE" get "$F6" 80 hello-s4 >/dev/null || fail "uid $OTHER to $F6"
pass "uid $OTHER reaches the servers through their fake addresses"
n0=$(redirects)
as "$OTHER" "$PY" "$PROBE" get 203.0.113.2 80 hello-s4 >/dev/null || fail "uid $OTHER to 203.0.113.2"
assert_eq "$(redirects)" $((n0 + 1)) "uid $OTHER's connect to a --via-gateway address is redirected"

log "the exempt user: the real resolver answers, connects go where they were asked"
out=$(getent_as "$EXEMPT" ahosts web6.test | awk '{ print $1 }' | sort -u | tr '\n' ' ')
assert_eq "$out" "2001:db8:1::2 " "getent ahosts web6.test as uid $EXEMPT gets the real address only"
out=$(getent_as "$EXEMPT" ahostsv4 web4.test | awk '{ print $1; exit }')
assert_eq "$out" 203.0.113.2 "getent ahostsv4 web4.test as uid $EXEMPT gets the real address"
# Each hook: unconnected UDP (sendmsg4/6), connected UDP and TCP (connect4/6).
for m in unconnected connected tcp; do
	assert_eq "$(answer_as "$EXEMPT" 127.0.0.2 web6.test 28 "$m")" 2001:db8:1::2 \
		"$m AAAA web6.test via 127.0.0.2 as uid $EXEMPT: the real answer"
	assert_eq "$(answer_as "$EXEMPT" "$DNS_SRV6" web4.test 1 "$m")" 203.0.113.2 \
		"$m A web4.test via $DNS_SRV6 as uid $EXEMPT: the real answer"
done
n0=$(redirects)
as "$EXEMPT" "$PY" "$PROBE" get 203.0.113.2 80 hello-s4 >/dev/null || fail "uid $EXEMPT to 203.0.113.2"
as "$EXEMPT" "$PY" "$PROBE" get 2001:db8:1::2 80 hello-s6 >/dev/null || fail "uid $EXEMPT to 2001:db8:1::2"
assert_eq "$(redirects)" "$n0" "uid $EXEMPT's connects to real addresses (one --via-gateway) are not redirected"
assert_eq "$(as "$EXEMPT" "$PY" "$PROBE" connect-error "$F4" 80)" ENETUNREACH \
	"uid $EXEMPT's connect to the fake $F4 is not redirected (no route)"
assert_eq "$(as "$EXEMPT" "$PY" "$PROBE" connect-error "$F6" 80)" ENETUNREACH \
	"uid $EXEMPT's connect to the fake $F6 is not redirected (no route)"
assert_eq "$(redirects)" "$n0" "the redirect counter did not move for uid $EXEMPT"

log "root in the same cgroup is still redirected (only the listed users are exempt)"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null || fail "root to $F4"
assert_eq "$(redirects)" $((n0 + 1)) "root's connect to the fake address is redirected"

log "--exempt-user none: nobody is exempt"
agent_stop
agent_start --exempt-user "$EXEMPT" --exempt-user none
assert_eq "$(jget exempt_uids)" "[]" "status lists no exempt uid"
out=$(getent_as "$EXEMPT" ahostsv4 web6.test | awk '{ print $1; exit }')
case $out in
198.1[89].*) pass "uid $EXEMPT gets a fake address again ($out)" ;;
*) fail "getent ahostsv4 web6.test as uid $EXEMPT without exemption: '$out'" ;;
esac
exit 0
