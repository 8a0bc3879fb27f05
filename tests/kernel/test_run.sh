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
left=$(find "$root/socks46" -maxdepth 1 -name "run-*" 2>/dev/null | wc -l)
kns env SOCKS46_CONTROL="$CTL" "$S46_BIN" run -- sh -c 'exit 7'
assert_eq "$?" 7 "run returns the command's exit status"
assert_eq "$(find "$root/socks46" -maxdepth 1 -name "run-*" 2>/dev/null | wc -l)" "$left" \
	"run removed its cgroup"

log "socks46 run starts an agent of its own when none answers"
out=$(kns env SOCKS46_CONTROL="$TMP/none.sock" "$S46_BIN" run --gateway 127.0.0.1:1080 \
	--agent-opt=--dns-upstream=127.0.0.2 -- "$PY" "$PROBE" dns-udp "$DNS_SRV4" web4.test 1 unconnected) ||
	fail "run with its own agent: $out"
case $(printf '%s\n' "$out" | tail -n 1) in 198.1[89].*) pass "its own agent answered with a fake address" ;;
*) fail "no fake from run's own agent: $out" ;; esac

log "errors are one clear line"
err=$(kns env SOCKS46_CONTROL="$TMP/none.sock" "$S46_BIN" run -- true 2>&1) && fail "run without agent succeeded"
case $err in "socks46 run: no agent on $TMP/none.sock"*) pass "no agent and no --gateway: $err" ;;
*) fail "unclear error: $err" ;; esac
err=$("$S46_BIN" attach --control "$CTL" /nonexistent/cgroup 2>&1) && fail "attach of a missing cgroup succeeded"
pass "attach of a missing cgroup fails: $err"
exit 0
