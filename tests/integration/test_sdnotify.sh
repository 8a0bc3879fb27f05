#!/bin/bash
# test_sdnotify.sh — readiness, reload, stop and watchdog notifications to systemd's socket
# (played by notify_listen.py), and journald's line format when stderr is the journal.
. "$(dirname "$0")/lib.sh"
set -u

topo_up

# notify_spawn NS SOCKET: a listener for SOCKET in NS; sets NOTES (its "PID MESSAGE" lines).
notify_spawn()
{
	NOTES=$TMP/notify-$SPAWN_N.log
	SPAWN_NAME=notify spawn "$1" "$PY" "$ITEST_DIR/notify_listen.py" "$2" "$NOTES"
	wait_log "$NOTES" '^listening$'
}

# --- The gateway: READY=1 once listening (with a STATUS), STATUS= following the connection
# count, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM.
notify_spawn "$NS_GW" "$TMP/gw.notify"
NOTIFY_SOCKET=$TMP/gw.notify gw_start --handshake-timeout 60
wait_log "$NOTES" ' READY=1'
line=$(grep ' READY=1' "$NOTES")
assert_contains "$line" "STATUS=listening on 2 addresses" "gateway: READY=1 carries a STATUS"
# A client that connects and stays is counted.
nsx "$NS_C4" "$PY" -c 'import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
time.sleep(30)' "$GW4_ADDR" "$GW_PORT" &
holder=$!
SPAWNED+=("$holder")
wait_log "$NOTES" 'STATUS=serving 1 connection$' 1 15
pass "gateway: STATUS= counts a live connection"
stop_pid "$holder" >/dev/null
gw_reload
wait_log "$NOTES" ' READY=1' 2
assert_eq "$(grep -o 'RELOADING=1\|READY=1' "$NOTES" | tr '\n' ' ')" "READY=1 RELOADING=1 READY=1 " \
	"gateway: RELOADING=1 then READY=1 around SIGHUP"
assert_contains "$(grep RELOADING "$NOTES")" "MONOTONIC_USEC=" "gateway: RELOADING=1 with MONOTONIC_USEC"
stop_pid "$GW_PID" >/dev/null
wait_log "$NOTES" ' STOPPING=1'

# With --processes 2 only the first process speaks (NotifyAccess=main).
notify_spawn "$NS_GW" "$TMP/gw2.notify"
NOTIFY_SOCKET=$TMP/gw2.notify gw_start --processes 2
wait_log "$GW_LOG" 'listening on' 4
wait_log "$NOTES" ' READY=1'
stop_pid "$GW_PID" >/dev/null
wait_log "$NOTES" ' STOPPING=1'
pids=$(awk 'NR > 1 { print $1 }' "$NOTES" | sort -u | tr '\n' ' ')
assert_eq "$pids" "$GW_PID " "gateway --processes 2: every notification from the main process"

# --- journald: with JOURNAL_STREAM naming stderr, "<N>message" lines and nothing else.
: >"$TMP/journal.err"
jstream=$(stat -c '%d:%i' "$TMP/journal.err")
JOURNAL_STREAM=$jstream ip netns exec "$NS_GW" "$S46_BIN" gateway --listen "$GW4_ADDR:1081" \
	2>>"$TMP/journal.err" &
jpid=$!
SPAWNED+=("$jpid")
wait_log "$TMP/journal.err" '^<6>listening on 198\.51\.100\.1:1081'
stop_pid "$jpid" >/dev/null
assert_eq "$(grep -cv '^<[0-7]>' "$TMP/journal.err")" 0 "journal: every line starts with a priority"
assert_not_contains "$(cat "$TMP/journal.err")" "socks46[" "journal: no pid of its own"
JOURNAL_STREAM=$jstream ip netns exec "$NS_GW" "$S46_BIN" agent --gateway "$GW4_ADDR:$GW_PORT" \
	--no-pin --control "$TMP/none.sock" --user u --password-file "$TMP/nonexistent" \
	2>"$TMP/journal.err"
assert_contains "$(cat "$TMP/journal.err")" "<3>" "journal: a fatal start-up error is priority 3"
# What ExecStartPre=... --check-config prints for a bad file reaches `journalctl -p err` too.
printf 'lisen 127.0.0.1:1080\n' >"$TMP/bad.conf"
JOURNAL_STREAM=$jstream "$S46_BIN" gateway --check-config --config "$TMP/bad.conf" 2>"$TMP/journal.err"
assert_eq "$?:$(cat "$TMP/journal.err")" "1:<3>socks46 gateway: $TMP/bad.conf:1: unknown key 'lisen'" \
	"journal: a configuration error is priority 3"
JOURNAL_STREAM=$jstream "$S46_BIN" agent --no-such-option 2>"$TMP/journal.err"
assert_contains "$?:$(cat "$TMP/journal.err")" "2:<3>socks46 agent: unknown option" \
	"journal: a command-line error is priority 3"

# --- The agent, on an abstract socket: READY=1 when attached and serving, RELOADING=1 then
# READY=1 around SIGHUP, watchdog pings at half WATCHDOG_USEC, STOPPING=1 on SIGTERM.
CG=$(cg_make apps)
notify_spawn "$NS_C4" "@$T-agent.notify"
NOTIFY_SOCKET=@$T-agent.notify WATCHDOG_USEC=200000 agent_spawn "$NS_C4" notify "$TMP/agent.sock" \
	--gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG" --no-pin --fake-state "$TMP/fakeip.state"
wait_log "$NOTES" ' READY=1'
assert_contains "$(grep ' READY=1' "$NOTES")" "STATUS=attached to 1 of 1 opt-in, 0 connections, 1 gateway" \
	"agent: READY=1 with STATUS"
kill -HUP "$AGENT_PID"
wait_log "$NOTES" ' READY=1' 2
assert_eq "$(grep -o 'RELOADING=1\|READY=1' "$NOTES" | tr '\n' ' ')" "READY=1 RELOADING=1 READY=1 " \
	"agent: RELOADING=1 then READY=1 around SIGHUP"
wait_log "$NOTES" ' WATCHDOG=1;STATUS=attached to 1 of 1 opt-in' 3
stop_pid "$AGENT_PID" >/dev/null
wait_log "$NOTES" ' STOPPING=1'
assert_eq "$(awk 'NR > 1 { print $1 }' "$NOTES" | sort -u)" "$AGENT_PID" \
	"agent: every notification from the agent"
