#!/bin/bash
# test_agent_follow.sh — opt-ins follow cgroups that are removed and made again (as systemd does), survive an agent restart, are idempotent; units by name; DNS fails open.
. "$(dirname "$0")/lib.sh"

CTL=$TMP/agent.sock
OPTINS=$TMP/optins
BPFFS=$TMP/bpffs
PIN=$BPFFS/socks46
ROOT=$(cg_root)
# A slice of this run at the top of the cgroup tree, where units are looked for
# (system.slice/foo.service on a systemd host).
SLICE=$ROOT/$T.slice
UNIT=${T}x.service

follow_cleanup()
{
	local rc=$?
	_cg_remove "$SLICE"
	rm -rf "$PIN" 2>/dev/null
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	return $rc
}
trap 'follow_cleanup; cleanup; exit $?' EXIT

topo_up
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
PAGE=$(cat "$TMP/www6/index.html")
gw_start
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS" || fail "cannot mount a bpffs"
mkdir "$SLICE" || fail "cannot create $SLICE"
CGA=$(cg_make a)

# The configuration file names a unit and a cgroup (below the cgroup2 mount) that do not exist yet.
CGC=$ROOT/$T/c
printf 'unit %s\ncgroup %s\n' "${T}z.service" "$T/c" >"$TMP/agent.conf"

agent_start()
{
	agent_spawn "$NS_C4" a "$CTL" --config "$TMP/agent.conf" --gateway "$GW4_ADDR:$GW_PORT" \
		--dns-upstream "$GW4_ADDR" --fake-state "$TMP/fakeip.state" --optin-state "$OPTINS" \
		--pin-dir "$PIN" --log-level debug
}

s46() { NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" "$@" --control "$CTL"; }

# optin KEY VALUE FIELD: FIELD of the status entry whose KEY is VALUE ("-" if there is none).
optin()
{
	s46 status --json | "$PY" -c 'import json, sys
k, v, f = sys.argv[1:]
m = [c for c in json.load(sys.stdin)["cgroups"] if c[k] == v]
print(json.dumps(m[0][f]).strip("\"") if m else "-")' "$@"
}

# attached_to KEY VALUE PATH: poll until the entry is attached to PATH with PATH's id.
attached_to()
{
	local id
	id=$(stat -c %i "$3") || fail "no $3"
	_is() { [ "$(optin "$1" "$2" path)" = "$3" ] && [ "$(optin "$1" "$2" id)" = "$id" ]; }
	wait_for 5 _is "$@" || fail "$2 is not attached to $3 (id $id): $(s46 status --json)"
	pass "$2 attached to $3 (id $id)"
}

pins() { find "$PIN" -name s46_connect4 | wc -l; }

# fetch CG WHAT: curl -4 in CG fetches the IPv6-only web6.test by name through the agent.
fetch()
{
	local out
	out=$(IN_CG=$1 nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/ 2>&1) ||
		fail "$2: curl -4 http://web6.test/ in $1: $out"
	assert_eq "$out" "$PAGE" "$2: curl -4 fetched web6.test by name"
}

agent_start

log "the configuration's unit and cgroup are attached when they are made"
assert_eq "$(optin unit "${T}z.service" origin)" config "the configured unit is listed"
assert_eq "$(optin unit "${T}z.service" attached)" false "...not attached while not running"
assert_eq "$(optin path "$CGC" attached)" false "the configured cgroup is listed, not attached"
mkdir "$CGC" "$SLICE/${T}z.service" || fail "mkdir"
attached_to path "$CGC" "$CGC"
attached_to unit "${T}z.service" "$SLICE/${T}z.service"
fetch "$CGC" "configured cgroup"

log "attach and detach are idempotent"
P0=$(pins)
out=$(s46 attach "$CGA") || fail "attach: $out"
assert_eq "$out" "$CGA: attached" "attach"
out=$(s46 attach "$CGA") || fail "attaching an attached cgroup failed: $out"
assert_eq "$out" "$CGA: already attached" "attaching again succeeds and says so"
n=$(s46 status --json | grep -o "\"path\":\"$CGA\"" | wc -l)
assert_eq "$n" 1 "status lists the cgroup once"
assert_eq "$(pins)" $((P0 + 1)) "one set of links, pinned once"
fetch "$CGA" "attached"
out=$(s46 detach "$CGA") || fail "detach: $out"
assert_eq "$out" "$CGA: detached" "detach"
out=$(s46 detach "$CGA") || fail "detaching a detached cgroup failed: $out"
assert_eq "$out" "$CGA: not attached" "detaching again succeeds and says so"
out=$(s46 attach --unit "$UNIT") || fail "attach --unit: $out"
assert_eq "$out" "$UNIT: not running; attached when it starts" "attach --unit of a unit not running"
out=$(s46 attach --unit "$UNIT") || fail "attach --unit again: $out"
assert_eq "$out" "$UNIT: already attached (waiting for its cgroup)" "attach --unit again says so"

log "a unit's cgroup is found by name and followed when it is made again (service restart)"
P0=$(pins)
mkdir "$SLICE/$UNIT" || fail "mkdir unit"
attached_to unit "$UNIT" "$SLICE/$UNIT"
fetch "$SLICE/$UNIT" "unit started"
old=$(stat -c %i "$SLICE/$UNIT")
rmdir "$SLICE/$UNIT" || fail "rmdir unit"
_gone() { [ "$(optin unit "$UNIT" attached)" = false ]; }
wait_for 5 _gone || fail "the removed cgroup is still listed"
assert_eq "$(optin unit "$UNIT" id)" 0 "the removed cgroup's id left status"
mkdir "$SLICE/$UNIT" || fail "mkdir unit again"
attached_to unit "$UNIT" "$SLICE/$UNIT"
[ "$(stat -c %i "$SLICE/$UNIT")" != "$old" ] || fail "the new cgroup has the old id"
fetch "$SLICE/$UNIT" "unit restarted"
assert_eq "$(pins)" $((P0 + 1)) "the dead cgroup's pins are gone"

log "a unit in a slice made after the attach is found too"
NESTED=$SLICE/$T-n.slice
s46 attach --unit "${T}y" >/dev/null || fail "attach --unit ${T}y"
assert_eq "$(optin unit "${T}y.service" attached)" false "a bare name means NAME.service"
mkdir "$NESTED" "$NESTED/${T}y.service" || fail "mkdir nested"
attached_to unit "${T}y.service" "$NESTED/${T}y.service"

log "a path opted in with attach is followed when it is removed and made again"
s46 attach "$CGA" >/dev/null || fail "attach $CGA"
rmdir "$CGA" || fail "rmdir $CGA"
_gone() { [ "$(optin path "$CGA" attached)" = false ]; }
wait_for 5 _gone || fail "the removed cgroup is still attached"
mkdir "$CGA" || fail "mkdir $CGA"
attached_to path "$CGA" "$CGA"
fetch "$CGA" "path made again"

log "a path whose parent is removed and made again is followed too"
CGP=$(cg_make p/q)
s46 attach "$CGP" >/dev/null || fail "attach $CGP"
attached_to path "$CGP" "$CGP"
rmdir "$CGP" "${CGP%/q}" || fail "rmdir"
_gone() { [ "$(optin path "$CGP" attached)" = false ]; }
wait_for 5 _gone || fail "the removed cgroup is still attached"
mkdir -p "$CGP" || fail "mkdir -p $CGP"
attached_to path "$CGP" "$CGP"
fetch "$CGP" "parent and path made again"
s46 detach "$CGP" >/dev/null || fail "detach $CGP"

log "after an agent restart, run-time opt-ins are attached again to the new programs"
# A command under `socks46 run` connects only after the restart (when $TMP/go appears).
cat >"$TMP/late.py" <<-PYEOF
	import os, time, urllib.request
	for _ in range(400):
	    if os.path.exists("$TMP/go"):
	        break
	    time.sleep(0.05)
	print(urllib.request.urlopen("http://web6.test/", timeout=10).read().decode().strip())
PYEOF
NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" run --control "$CTL" -- "$PY" "$TMP/late.py" \
	>"$TMP/late.out" 2>&1 &
LATE=$!
_running() { s46 status --json | grep -q '"origin":"run"'; }
wait_for 10 _running || fail "socks46 run did not attach its cgroup"
stop_pid "$AGENT_PID"
P0=$(pins)
assert_contains "$(cat "$OPTINS")" "cgroup $CGA" "the opt-in file lists the path"
assert_contains "$(cat "$OPTINS")" "unit $UNIT" "the opt-in file lists the unit"
agent_start
assert_eq "$(optin path "$CGA" origin)" runtime "the path is back, as a run-time opt-in"
attached_to path "$CGA" "$CGA"
attached_to unit "$UNIT" "$SLICE/$UNIT"
assert_eq "$(pins)" "$P0" "the old agent's pins were replaced, none added"
fetch "$CGA" "after the restart"
assert_eq "$(optin origin run attached)" true "the cgroup of socks46 run is attached again"
touch "$TMP/go"
wait "$LATE" || fail "socks46 run: $(cat "$TMP/late.out")"
assert_eq "$(cat "$TMP/late.out")" "$PAGE" "the command under socks46 run fetched by name after the restart"
_ran() { [ "$(optin origin run attached)" = - ]; }
wait_for 5 _ran || fail "the cgroup of socks46 run is still listed"
pass "its cgroup left status with the command"
fetch "$SLICE/$UNIT" "unit after the restart"
out=$(s46 status)
assert_contains "$out" "$SLICE/$UNIT (id $(stat -c %i "$SLICE/$UNIT"), attach, unit $UNIT, pinned)" \
	"status shows the unit's current cgroup"
s46 detach --unit "${T}y" >/dev/null || fail "detach --unit ${T}y"
assert_eq "$(optin unit "${T}y.service" attached)" - "detach --unit forgets the unit"

log "the agent killed: DNS reaches the real resolver, fake addresses fail at once"
F4=$(IN_CG=$CGA nsx "$NS_C4" getent ahostsv4 web6.test | awk '{ print $1; exit }')
case $F4 in 198.1[89].*) pass "web6.test -> $F4 (fake) while the agent runs" ;; *) fail "no fake address: $F4" ;; esac
# (stderr: the shell's notice that its job was killed)
stop_pid "$AGENT_PID" KILL 2>/dev/null
out=$(IN_CG=$CGA nsx "$NS_C4" getent ahostsv6 web6.test | awk '{ print $1; exit }')
assert_eq "$out" "$S6_ADDR" "getent in the cgroup gets the real address from the real resolver"
IN_CG=$CGA nsx "$NS_C4" curl -sS --max-time 5 "http://$F4/" >/dev/null 2>&1
assert_eq "$?" 7 "curl to the fake address fails at once (connection refused)"

log "links pinned by an earlier agent whose opt-ins were not kept are taken over"
rm "$OPTINS"
agent_start
attached_to path "$CGA" "$CGA"
assert_eq "$(optin path "$CGA" origin)" runtime "taken over as a run-time opt-in"
fetch "$CGA" "taken over"
stop_pid "$AGENT_PID"

log "detach with no agent running removes the pins and the opt-in"
out=$(s46 detach --pin-dir "$PIN" --optin-state "$OPTINS" "$CGA") || fail "detach: $out"
assert_eq "$out" "$CGA: detached (no agent running)" "detach without an agent"
assert_not_contains "$(cat "$OPTINS")" "cgroup $CGA" "the opt-in file no longer lists it"
out=$(s46 detach --pin-dir "$PIN" --optin-state "$OPTINS" "$CGA") || fail "detach again: $out"
assert_eq "$out" "$CGA: not attached (no agent running)" "detaching again without an agent succeeds"
out=$(s46 detach --unit --pin-dir "$PIN" --optin-state "$OPTINS" "$UNIT") || fail "detach --unit: $out"
assert_eq "$(pins)" 2 "only the configured cgroups' pins are left"
exit 0
