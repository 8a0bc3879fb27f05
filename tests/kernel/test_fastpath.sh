#!/bin/bash
# test_fastpath.sh — the agent's relay and its kernel fast path (--fast-path): 100 parallel 5 MB transfers checked byte for byte both ways, half-close both ways, resets, status byte counts, the gateway's idle timeout, and the agent killed mid-transfer.
. "$(dirname "$0")/klib.sh"
XFER=$KDIR/s46xfer.py
# S46_XFER_CONNS and S46_XFER_SIZE shrink the bulk step (slow emulated guests; the defaults
# are the issue's figures); S46_XFER_MODES picks "relay", "fast" or both (default).
CONNS=${S46_XFER_CONNS:-100}
SIZE=${S46_XFER_SIZE:-5242880}
ksetup
kspawn xfer "$PY" "$XFER" serve 203.0.113.2 9000
wait_tcp 203.0.113.2 9000
# A second gateway that closes relays idle for 2 s.
kspawn gwidle "$S46_BIN" gateway --listen 127.0.0.1:1081 --dns-server 127.0.0.2 --threads 1 \
	--mark 0x5346 --idle-timeout 2
wait_tcp 127.0.0.1 1081

# live_bytes FIELD: FIELD of the one live connection's status, or nothing.
live_bytes()
{
	agent_status_raw | $PY -c 'import json, sys
c = json.load(sys.stdin)["connections"]
print(c[0][sys.argv[1]] if c else "")' "$1"
}

# Conditions polled by wait_for.
bytes_down_is() { [ "$(live_bytes bytes_down)" = "$1" ]; }
moving_at_least()
{
	[ "$(agent_status_raw | $PY -c 'import json, sys
print(sum(c["bytes_down"] > 0 for c in json.load(sys.stdin)["connections"]))')" -ge "$1" ]
}

# suite MODE AGENT-ARGS...: every check with the agent started with AGENT-ARGS.
suite()
{
	local mode=$1 pushes fifo pid n state line
	shift
	GATEWAYS=127.0.0.1:1080 agent_start "$@"
	state=relay
	if [ "$mode" = fast ] && grep -q "fast path refused" "$TMP/agent.log"; then
		# A kernel that cannot: one line naming it, and the relay carries the same checks.
		line=$(grep "fast path refused" "$TMP/agent.log")
		assert_contains "$line" "kernel $(uname -r)" "the refusal names the kernel"
		printf 'fast path refused on this kernel: %s\n' "${line#*warn: }"
		FAST="refused (${line#*fast path refused: })"
	elif [ "$mode" = fast ]; then
		grep -q "fast path on" "$TMP/agent.log" || {
			grep "fast path" "$TMP/agent.log"
			fail "the fast path is neither on nor refused"
		}
		state=fast
		FAST=on
	else
		assert_not_contains "$(cat "$TMP/agent.log")" "fast path" "the relay by default"
	fi

	log "$mode: $CONNS parallel transfers of $SIZE bytes, echoed: every byte checked both ways"
	t0=$(date +%s%N)
	kin "$PY" "$XFER" echo 203.0.113.2 9000 --conns "$CONNS" --size "$SIZE" ||
		fail "$mode: parallel transfers"
	SECS[$mode]=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')

	log "$mode: half-close: the server shuts down first, then the client sends"
	pushes=$(log_count "$TMP/xfer.log" "push ok")
	kin "$PY" "$XFER" push 203.0.113.2 9000 --conns 10 --size 1048576 || fail "$mode: push"
	wait_log "$TMP/xfer.log" "push ok" $((pushes + 10)) 20
	assert_eq "$(log_count "$TMP/xfer.log" "push BAD")" 0 "$mode: uploads after the server's FIN intact"

	log "$mode: a server's reset reaches the program as a reset, not as an EOF"
	kin "$PY" "$XFER" reset 203.0.113.2 9000 --conns 10 --size 1048576 || fail "$mode: reset"

	log "$mode: status counts the bytes of a live connection"
	fifo=$TMP/hold.fifo
	rm -f "$fifo" && mkfifo "$fifo"
	kin "$PY" "$XFER" hold 203.0.113.2 9000 --size 1000000 <"$fifo" >"$TMP/hold.out" &
	pid=$!
	exec 7>"$fifo"
	wait_for 20 bytes_down_is 1000000 ||
		fail "$mode: status shows $(live_bytes bytes_down) bytes down, not 1000000"
	# The command byte, size and index go up before the bytes.
	assert_eq "$(live_bytes bytes_up)" 1000013 "$mode: status counts the bytes up"
	assert_eq "$(live_bytes state)" "$state" "$mode: status names who moves the bytes"
	exec 7>&-
	wait "$pid" || fail "$mode: the held transfer: $(cat "$TMP/hold.out")"

	log "$mode: the agent killed mid-transfer: each program gets all its bytes or an error"
	kin "$PY" "$XFER" echo 203.0.113.2 9000 --conns 20 --size 20971520 --allow-reset \
		>"$TMP/death.out" 2>&1 &
	pid=$!
	wait_for 30 moving_at_least 10 ||
		fail "$mode: the transfers did not start"
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	wait "$pid" || fail "$mode: after the agent died: $(cat "$TMP/death.out")"
	cat "$TMP/death.out"
	n=$(sed -n 's/.* \([0-9]*\) reset.*/\1/p' "$TMP/death.out")
	[ "${n:-0}" -ge 1 ] || fail "$mode: no transfer was cut by the agent's death"

	log "$mode: the gateway's idle timeout ends a quiet connection"
	GATEWAYS=127.0.0.1:1081 agent_start "$@"
	kin "$PY" "$XFER" idle 203.0.113.2 9000 --size 4096 || fail "$mode: idle timeout"
	agent_stop
}

declare -A SECS=()
FAST="not run"
for m in ${S46_XFER_MODES:-relay fast}; do
	if [ "$m" = fast ]; then suite fast --fast-path; else suite relay; fi
done
# Shown for passing tests too (tests/run.sh, vmtest): which path each kernel took.
printf 'bench: kernel %s: fast path %s; %s x %s bytes echoed in %s s (relay), %s s (--fast-path)\n' \
	"$(uname -r)" "$FAST" "$CONNS" "$SIZE" "${SECS[relay]:--}" "${SECS[fast]:--}"
exit 0
