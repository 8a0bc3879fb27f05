#!/bin/bash
# test_lifecycle.sh — map hygiene after many connections, pinned links when the agent is gone, restart, detach, namespace scoping.
. "$(dirname "$0")/klib.sh"
ksetup
agent_start

F4=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 unconnected | tail -n 1)
case $F4 in 198.1[89].*) pass "web6.test -> $F4" ;; *) fail "no fake address: $F4" ;; esac

# Many connections: under QEMU's emulation fewer, the property is the same.
N=${S46_KERNEL_CONNS:-10000}
[ "${S46_IN_VMTEST_GUEST:-}" = 1 ] && N=${S46_KERNEL_CONNS:-100}
log "$N connections: the per-connection map holds only live entries afterwards"
kin "$PY" "$PROBE" many "$F4" 80 "$N" || fail "connections failed"
assert_eq "$(jget counters.forwarded)" "$N" "every connection was forwarded"
assert_eq "$(jget counters.published)" "$N" "sock_ops published every connection"
assert_eq "$(jget conn_entries)" 0 "s46_conn holds no entry once the connections are gone"
assert_eq "$(jget fakeip.0.refs)" 0 "the fake address is no longer held"

log "the agent is gone: pinned links keep redirecting into a closed port"
agent_stop
r=$(kin "$PY" "$PROBE" connect-error "$F4" 80)
assert_eq "$r" ECONNREFUSED "connect to a fake address fails at once with ECONNREFUSED"

log "a restarted agent keeps the fake-IP table and takes over the links"
# Pins of a cgroup removed meanwhile are swept at start-up.
mkdir "$CG-gone" || fail "mkdir"
agent_start --cgroup "$CG-gone"
agent_stop
gone_id=$(stat -c %i "$CG-gone")
rmdir "$CG-gone" || fail "rmdir $CG-gone"
# The kernel detaches a removed cgroup's links asynchronously.
for _ in $(seq 100); do
	bpftool link show pinned "$(find "$PIN" -path "*-$gone_id/s46_connect4")" 2>/dev/null |
		grep -q "cgroup_id 0 " && break
	sleep 0.05
done
agent_start
n=$(find "$PIN" -mindepth 1 -maxdepth 1 -type d | wc -l)
assert_eq "$n" 1 "pins of the removed cgroup were swept, the test cgroup's remain"
out=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 unconnected) || fail "$out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "$F4" "same fake address after the restart"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null || fail "connection after restart"
pass "connections work after the restart"
n=$(find "$PIN" -mindepth 1 -maxdepth 1 -type d | wc -l)
assert_eq "$n" 1 "one pin directory (the old agent's links were replaced)"

log "a program of the cgroup in a namespace the agent does not serve is never redirected"
# (by default the agent serves the namespaces of its cgroups' processes, each inside itself:
# test_netns; with --netns-policy own it serves only its own)
agent_stop
agent_start --netns-policy own
ip netns add "${NS}x" || fail "netns"
ip -n "${NS}x" link set lo up
r=$( (echo "$BASHPID" >"$CG/cgroup.procs"; exec nsenter --net="/run/netns/${NS}x" "$PY" "$PROBE" connect-error "$F4" 80) )
ip netns del "${NS}x"
assert_eq "$r" ENETUNREACH "no redirect escapes into the agent's namespace"

log "detach through the control socket restores normal behaviour; attach brings it back"
"$S46_BIN" detach --control "$CTL" "$CG" || fail "detach"
r=$(kin "$PY" "$PROBE" connect-error "$F4" 80)
assert_eq "$r" ENETUNREACH "after detach, a fake address is plain unreachable"
n=$(find "$PIN" -mindepth 1 2>/dev/null | wc -l)
assert_eq "$n" 0 "detach removed the pins"
"$S46_BIN" attach --control "$CTL" "$CG" || fail "attach"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null || fail "connection after attach"
pass "attach restores redirection"
out=$("$S46_BIN" attach --control "$CTL" "$CG" 2>&1) || fail "attaching twice failed: $out"
assert_eq "$out" "$CG: already attached" "attaching twice succeeds and says so"

log "detach with no agent running removes the pinned links"
agent_stop
r=$(kin "$PY" "$PROBE" connect-error "$F4" 80)
assert_eq "$r" ECONNREFUSED "pinned links outlive the agent"
"$S46_BIN" detach --control "$CTL" --pin-dir "$PIN" --optin-state "$OPTINS" "$CG" ||
	fail "detach without agent"
r=$(kin "$PY" "$PROBE" connect-error "$F4" 80)
assert_eq "$r" ENETUNREACH "detach without an agent restores normal behaviour"
exit 0
