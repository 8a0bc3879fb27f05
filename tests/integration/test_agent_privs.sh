#!/bin/bash
# test_agent_privs.sh — the agent with the privileges its unit gives it: root with the bounding
# set reduced to CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON loads, attaches, pins and redirects;
# without CAP_BPF or CAP_NET_ADMIN it refuses at start with one line. (Without CAP_PERFMON, 6.1
# and 6.12 refuse a program, which the systemd guest's unit would show; 6.18 does not.)
. "$(dirname "$0")/lib.sh"
set -u

BPFFS=$TMP/bpffs
PIN=$BPFFS/socks46
privs_cleanup()
{
	local rc=$?
	rm -rf "$PIN" 2>/dev/null
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	return $rc
}
trap 'privs_cleanup; cleanup; exit $?' EXIT

topo_up
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
gw_start
CG=$(cg_make app)
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS" || fail "cannot mount a bpffs"

# agent CAPS ARGS...: exec the agent in c4 (host /sys kept), root with only CAPS in its
# bounding set, as CapabilityBoundingSet= runs it. Call it in a subshell.
agent()
{
	local caps=$1
	shift
	exec nsenter --net="/run/netns/$NS_C4" setpriv --bounding-set=-all,"$caps" --inh-caps=-all \
		"$S46_BIN" agent --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG" --pin-dir "$PIN" \
		--fake-state "$TMP/fakeip.state" --optin-state "$TMP/optins" \
		--dns-upstream "$GW4_ADDR" --control "$TMP/agent.sock" "$@"
}

for caps in +bpf +net_admin; do
	(agent "$caps") >"$TMP/refused.out" 2>&1
	rc=$?
	assert_eq "$rc:$(grep -c . "$TMP/refused.out")" "1:1" "only $caps: exit 1 with one line"
	assert_contains "$(cat "$TMP/refused.out")" "CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON" "only $caps: names the capabilities"
done

SPAWN_NAME=agent-caps spawn "$NS_C4" true
agent +bpf,+net_admin,+perfmon >"$SPAWNED_LOG" 2>&1 &
APID=$!
SPAWNED+=("$APID")
wait_log "$SPAWNED_LOG" 'agent ready'
assert_eq "$(awk '/^CapEff/ { print $2 }' "/proc/$APID/status")" \
	"$(printf '%016x' $(((1 << 39) | (1 << 38) | (1 << 12))))" \
	"effective capabilities: CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"
[ -n "$(ls "$PIN")" ] || fail "no pinned links under $PIN"
pass "links pinned on the bpffs"
out=$(IN_CG=$CG nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/) || fail "curl -4: $out"
assert_eq "$out" "$(cat "$TMP/www6/index.html")" "curl -4 in the cgroup reaches the IPv6-only web6.test"
stop_pid "$APID" >/dev/null
out=$("$S46_BIN" detach --control "$TMP/agent.sock" --pin-dir "$PIN" --optin-state "$TMP/optins" "$CG" 2>&1) ||
	fail "detach: $out"
pass "detached"
