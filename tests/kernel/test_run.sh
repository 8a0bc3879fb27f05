#!/bin/bash
# test_run.sh — `socks46 run -- CMD` with a running agent and with an agent of its own; exit status and cleanup.
. "$(dirname "$0")/klib.sh"
ksetup
agent_start

log "socks46 run uses the running agent"
out=$(kns env SOCKS46_CONTROL="$CTL" "$S46_BIN" run -- "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 connected) ||
	fail "run: $out"
F4=$(printf '%s\n' "$out" | tail -n 1)
case $F4 in 198.1[89].*) pass "a command under run gets fake address $F4" ;; *) fail "no fake: $out" ;; esac
kns env SOCKS46_CONTROL="$CTL" "$S46_BIN" run -- "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null ||
	fail "run: connection through the agent"
pass "a command under run reaches web6.test through the gateway"
assert_eq "$(jget cgroups | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1 \
	"run detached its cgroup afterwards"
root=$(cg_root)
true &
dead=$!
wait "$dead"
mkdir -p "$root/socks46/run-$dead"
left=$(find "$root/socks46" -maxdepth 1 -name "run-*" 2>/dev/null | wc -l)
left=$((left - 1))
kns env SOCKS46_CONTROL="$CTL" "$S46_BIN" run -- sh -c 'exit 7'
assert_eq "$?" 7 "run returns the command's exit status"
assert_eq "$(find "$root/socks46" -maxdepth 1 -name "run-*" 2>/dev/null | wc -l)" "$left" \
	"run removed its cgroup"
[ -d "$root/socks46/run-$dead" ] && fail "a stale cgroup of a dead run was left"
pass "run swept the empty cgroup a killed run left behind"

log "SIGTERM to socks46 run reaches the command; run still cleans up"
(exec nsenter --net="/run/netns/$NS" env SOCKS46_CONTROL="$CTL" "$S46_BIN" run -- sleep 30) &
rpid=$!
cmd=
for _ in $(seq 100); do
	cmd=$(grep -vx "$rpid" "$root/socks46/run-$rpid/cgroup.procs" 2>/dev/null | head -n1)
	[ -n "$cmd" ] && break
	sleep 0.05
done
[ -n "$cmd" ] || fail "run did not start its command in cgroup run-$rpid"
kill -TERM "$rpid"
wait "$rpid"
rc=$?
assert_eq "$rc" 143 "run exits like the command killed by SIGTERM"
kill -0 "$cmd" 2>/dev/null && fail "the command (pid $cmd) outlived run: the signal did not reach it"
[ -d "$root/socks46/run-$rpid" ] && fail "cgroup run-$rpid left behind"
pass "run removed its cgroup after the signal"

log "status shows a live connection with the program's pid"
kin "$PY" -c "import os, socket, time
s = socket.create_connection(('$F4', 80))
print(os.getpid(), flush=True)
for _ in range(400):
    if os.path.exists('$TMP/live.stop'):
        break
    time.sleep(0.05)" >"$TMP/live.out" &
lpid=$!
for _ in $(seq 200); do
	[ -s "$TMP/live.out" ] && break
	sleep 0.05
done
# check_conns JSON: exactly that live connection, relayed.
check_conns()
{
	printf '%s\n' "$1" | $PY -c 'import json, sys
c = json.load(sys.stdin)
assert len(c) == 1, c
c = c[0]
want_pid, want_orig = int(sys.argv[1]), sys.argv[2]
assert c["pid"] == want_pid, (c["pid"], want_pid)
assert c["orig"] == want_orig, (c["orig"], want_orig)
assert c["target"] == "web6.test:80", c["target"]
assert c["cookie"] > 0 and c["state"] == "relay", c' "$(cat "$TMP/live.out")" "$F4:80" 2>&1
}
for _ in $(seq 50); do
	conns=$(jget connections)
	err=$(check_conns "$conns") && break
	sleep 0.1
done
touch "$TMP/live.stop"
wait "$lpid"
[ -z "$err" ] || fail "status connections: $conns: $err"
pass "status: pid, original destination, name and socket cookie of the live connection"

log "socks46 run starts an agent of its own when none answers"
out=$(kns env SOCKS46_CONTROL="$TMP/none.sock" "$S46_BIN" run --gateway 127.0.0.1:1080 \
	--agent-opt=--dns-upstream=127.0.0.2 -- "$PY" "$PROBE" dns-udp "$DNS_SRV4" web4.test 1 unconnected) ||
	fail "run with its own agent: $out"
case $(printf '%s\n' "$out" | tail -n 1) in 198.1[89].*) pass "its own agent answered with a fake address" ;;
*) fail "no fake from run's own agent: $out" ;; esac

log "errors are one clear line"
err=$(kns env SOCKS46_CONTROL="$TMP/none.sock" "$S46_BIN" run -- true 2>&1) && fail "run without agent succeeded"
case $err in "socks46 run: no agent running (nothing listens on $TMP/none.sock)"*) pass "no agent and no --gateway: $err" ;;
*) fail "unclear error: $err" ;; esac
err=$("$S46_BIN" attach --control "$CTL" /nonexistent/cgroup 2>&1) && fail "attach of a missing cgroup succeeded"
pass "attach of a missing cgroup fails: $err"
exit 0
