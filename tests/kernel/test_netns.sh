#!/bin/bash
# test_netns.sh — the hooks in network namespaces other than the agent's: a served one (a container's: its own namespace, a cgroup below the attached one) is redirected, one the policy leaves out, or one no longer served, is left alone.
. "$(dirname "$0")/klib.sh"
ksetup
CTRS=()

# ctr_cleanup: the containers' namespaces, after kcleanup (their processes are in PIDS and
# the cgroups below $CG).
ctr_cleanup()
{
	local c pid
	for c in "${CTRS[@]}"; do
		for pid in $(ip netns pids "$T-$c" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$T-$c" 2>/dev/null
	done
}
trap 'kcleanup; rc=$?; ctr_cleanup; exit $rc' EXIT

# ctr NAME: a container as a runtime makes it: namespace $T-NAME (lo up, no route, its own
# resolver on 127.0.0.2 that knows web6.test by its real AAAA) and cgroup $CG/NAME.
ctr()
{
	ip netns add "$T-$1" || fail "ip netns add $T-$1"
	CTRS+=("$1")
	ip -n "$T-$1" link set lo up
	mkdir "$CG/$1" || fail "cgroup $CG/$1"
	nsenter --net="/run/netns/$T-$1" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
		--bind-interfaces --listen-address=127.0.0.2 --user=root \
		--pid-file="$TMP/dnsmasq-$1.pid" --local=/test/ --host-record=web6.test,2001:db8:1::2 \
		>"$TMP/dnsmasq-$1.log" 2>&1 </dev/null &
	PIDS+=("$!")
	wait_for 10 nsenter --net="/run/netns/$T-$1" sh -c 'ss -Hlun "sport = :53" | grep -q 127.0.0.2' ||
		fail "dnsmasq in $T-$1 did not start"
}

# ctr_init NAME: the container's first process, in its namespace first, then in its cgroup
# (as a runtime does); sets INIT_PID.
ctr_init()
{
	nsenter --net="/run/netns/$T-$1" sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' \
		sh "$CG/$1" &
	INIT_PID=$!
	PIDS+=("$INIT_PID")
	wait_for 5 grep -qx "$INIT_PID" "$CG/$1/cgroup.procs" || fail "init of $1 not in its cgroup"
}

# cin NAME CMD...: CMD in container NAME.
cin()
{
	local c=$1
	shift
	(
		echo "$BASHPID" >"$CG/$c/cgroup.procs" || exit 125
		exec nsenter --net="/run/netns/$T-$c" "$@"
	)
}

answer() { cin "$1" "$PY" "$PROBE" dns-answer "${@:2}" | tail -n 1; }
inode() { stat -L -c %i "/run/netns/$T-$1"; }
served()
{
	agent_status_raw | "$PY" -c 'import json, sys
sys.exit(0 if any(n["inode"] == int(sys.argv[1]) for n in json.load(sys.stdin)["namespaces"]) else 1)' "$1"
}
not_served() { ! served "$1"; }

ctr c1
ctr_init c1
INIT1=$INIT_PID
ctr c2
ctr_init c2
INIT2=$INIT_PID
agent_start --netns-policy "$T-c1"

log "the hook path: socks46 netns add returns once the namespace is served"
out=$("$S46_BIN" netns add --control "$CTL" --pid "$INIT1") || fail "netns add c1: $out"
assert_contains "$out" "serving network namespace inode $(inode c1)" "c1 is served"
out=$("$S46_BIN" netns add --control "$CTL" --pid "$INIT2" 2>&1)
assert_eq "$?:$out" "1:socks46 netns: the netns policy leaves out the namespace of pid $INIT2" \
	"c2, left out by --netns-policy, is refused"
served "$(inode c2)" && fail "c2 is served"
pass "status lists c1 and not c2"

log "c1 (served): DNS steered to the agent's responder inside c1 (connect4, sendmsg4/6, recvmsg4/6)"
for m in unconnected connected tcp; do
	a=$(answer c1 127.0.0.2 web6.test 1 "$m")
	case $a in 198.1[89].*) pass "c1: $m A web6.test -> $a (fake)" ;; *) fail "c1: $m: $a" ;; esac
done
F4=$a
F6=$(answer c1 2001:db8:1::53 web4.test 28 unconnected)
case $F6 in 2001:2:*) pass "c1: unconnected AAAA web4.test over IPv6 -> $F6 (fake)" ;; *) fail "c1: IPv6: $F6" ;; esac

log "c1: connects to fake addresses (connect4/6, sock_ops keyed by c1's cookie, getpeername4/6)"
cin c1 "$PY" "$PROBE" get "$F4" 80 hello-s6 || fail "c1: IPv4 program to the IPv6-only server"
cin c1 "$PY" "$PROBE" get "$F6" 80 hello-s4 || fail "c1: IPv6 program to the IPv4-only server"
assert_eq "$(jget conn_entries)" 0 "every published 4-tuple was claimed"

log "c2 (in the attached cgroup, not served): left alone"
for m in unconnected connected tcp; do
	assert_eq "$(answer c2 127.0.0.2 web6.test 28 "$m")" 2001:db8:1::2 \
		"c2: $m AAAA web6.test answered by c2's own resolver"
done
assert_eq "$(cin c2 "$PY" "$PROBE" connect-error "$F4" 80)" ENETUNREACH \
	"c2: a connect to $F4 is not redirected (c2 has no route)"

log "a namespace whose processes are gone is no longer served, then served again"
kill -KILL "$INIT1"
wait "$INIT1" 2>/dev/null
wait_for 10 not_served "$(inode c1)" || fail "c1 is still served with no process in it"
pass "c1 is no longer served"
ctr_init c1
wait_for 10 served "$(inode c1)" || fail "c1 is not served again"
pass "c1's new first process got it served again (discovery)"
assert_eq "$(answer c1 127.0.0.2 web6.test 1 tcp)" "$F4" "c1: the same fake answer"

log "--netns-policy own: only the agent's namespace"
agent_stop
agent_start --netns-policy own
out=$("$S46_BIN" netns add --control "$CTL" --pid "$INIT_PID" 2>&1)
assert_eq "$?:$out" "1:socks46 netns: the netns policy serves only the agent's namespace" \
	"netns add is refused"
assert_eq "$(answer c1 127.0.0.2 web6.test 28 unconnected)" 2001:db8:1::2 \
	"c1: DNS answered by c1's own resolver"
a=$(kin "$PY" "$PROBE" dns-answer 127.0.0.2 web6.test 1 connected | tail -n 1)
case $a in 198.1[89].*) pass "the agent's own namespace is served ($a)" ;; *) fail "own: $a" ;; esac
exit 0
