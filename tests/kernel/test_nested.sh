#!/bin/bash
# test_nested.sh — a cgroup attached inside an attached one (a unit opted in within an attached slice or the root): DNS and connects still steered end to end.
. "$(dirname "$0")/klib.sh"
ksetup
INNER=$CG/inner
mkdir "$INNER" || fail "cannot create $INNER"
agent_start --cgroup "$INNER"
assert_eq "$(jget cgroups.1.path)" "$INNER" "the inner cgroup is attached too"

# kinner CMD...: run CMD in the namespace and in the inner cgroup, where the programs of both
# cgroups run on every socket (the inner one's first).
kinner()
{
	(
		echo "$BASHPID" >"$INNER/cgroup.procs" || exit 125
		exec nsenter --net="/run/netns/$NS" "$@"
	)
}

log "DNS from the inner cgroup: connected and unconnected UDP, TCP"
out=$(kinner "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 connected) || fail "$out"
printf '%s\n' "$out"
F4=$(printf '%s\n' "$out" | tail -n 1)
out=$(kinner "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 unconnected) || fail "$out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "$F4" "unconnected UDP gets the same fake address"
out=$(kinner "$PY" "$PROBE" dns-tcp "$DNS_SRV4" web6.test 1) || fail "$out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "$F4" "TCP DNS gets the same fake address"

log "a connect from the inner cgroup reaches the real server through the gateway"
kinner "$PY" "$PROBE" get "$F4" 80 hello-s6 || fail "IPv4 program in the inner cgroup to the IPv6-only server"
assert_eq "$(jget counters.no_origdst)" 0 "the agent found every original destination"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 || fail "IPv4 program in the outer cgroup to the IPv6-only server"
exit 0
