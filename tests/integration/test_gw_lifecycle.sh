#!/bin/bash
# test_gw_lifecycle.sh — gateway start-up errors, SIGTERM draining, and running out of file descriptors.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
echo_serve "$NS_S4" "$S4_ADDR" 7

probe() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$@"; }
P4=("$GW4_ADDR" "$GW_PORT")

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# --- The version comes from the VERSION file, as the .deb's does.
assert_eq "$("$S46_BIN" --version)" "socks46 $(cat "$REPO/VERSION")" "socks46 --version"
assert_eq "$("$S46_BIN" version)" "socks46 $(cat "$REPO/VERSION")" "socks46 version"

# --- A bad configuration: one clear "FILE:LINE" line on stderr and a non-zero exit.
# bad_start WHAT NEEDLE ARGS...: exit status 1 (STATUS=2: a bad command line).
bad_start()
{
	local what=$1 needle=$2 rc
	shift 2
	timeout 10 ip netns exec "$NS_GW" "$S46_BIN" gateway --listen "$GW4_ADDR:$GW_PORT" "$@" \
		>"$TMP/bad.out" 2>"$TMP/bad.err"
	rc=$?
	# README: "socks46 gateway: FILE:LINE: message" and exit status 1, 2 for the command line.
	assert_eq "$rc" "${STATUS:-1}" "$what: exit status"
	assert_eq "$(grep -c . "$TMP/bad.err")" 1 "$what: exactly one line on stderr"
	assert_contains "$(head -c 17 "$TMP/bad.err")" "socks46 gateway: " "$what: message starts with the command"
	assert_contains "$(cat "$TMP/bad.err")" "$needle" "$what: names $needle"
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TMP/bad.err" "$TMP/bad.out" &&
		fail "$what: sanitizer report"
	ss_busy=$(ip netns exec "$NS_GW" ss -Htln "sport = :$GW_PORT")
	assert_eq "$ss_busy" "" "$what: nothing left listening"
}

printf '# gateway settings\nconnect-timeout 5\n\nno-such-key 1\n' >"$TMP/unknown.conf"
bad_start "unknown key" "$TMP/unknown.conf:4" --config "$TMP/unknown.conf"
printf 'connect-timeout five\n' >"$TMP/badval.conf"
bad_start "bad number" "$TMP/badval.conf:1" --config "$TMP/badval.conf"
printf 'listen 198.51.100.1:1080\nlisten not-an-address\n' >"$TMP/badlisten.conf"
bad_start "bad listen address" "$TMP/badlisten.conf:2" --config "$TMP/badlisten.conf"
printf 'alice:%s\nbroken line\n' "$(mkpasswd -m sha-512 x)" >"$TMP/badusers"
bad_start "users file without ':'" "$TMP/badusers:2" --users "$TMP/badusers"
bad_start "missing config file" "$TMP/nonexistent.conf" --config "$TMP/nonexistent.conf"
STATUS=2 bad_start "unknown option" "--no-such-option" --no-such-option
STATUS=2 bad_start "out-of-range option" "connect-timeout" --connect-timeout 0
STATUS=2 bad_start "option without its value" "--users" --users
STATUS=2 bad_start "stray argument" "'extra'" extra
# Port 1 in gw is free but the address is not gw's: bind fails.
bad_start "listen address not on this host" "203.0.113.2" --listen 203.0.113.2:1080

# A config file that works, with a comment and a users file.
printf 'u:%s\n' "$(mkpasswd -m sha-512 pw)" >"$TMP/users"
printf '# listen on the IPv4 client link only\nlisten %s:%s\nusers %s\nconnect-timeout 2\n' \
	"$GW4_ADDR" "$GW_PORT" "$TMP/users" >"$TMP/good.conf"
SPAWN_NAME=gateway-conf spawn "$NS_GW" "$S46_BIN" gateway --config "$TMP/good.conf"
wait_port "$NS_GW" "$GW4_ADDR" "$GW_PORT"
out=$(probe "${P4[@]}" connect web4.test 7 --user u --password pw send:conf recv:4)
assert_contains "$out" "data conf" "gateway configured by file serves"
# --check-config reads everything and starts nothing: silent and 0 although the
# configured port is taken (by the gateway above), one line and 1 for a bad file.
out=$(nsx "$NS_GW" "$S46_BIN" gateway --config "$TMP/good.conf" --check-config 2>&1)
assert_eq "$?:$out" "0:" "--check-config of a valid configuration"
stop_pid "$SPAWNED_PID"
bad_start "--check-config: bad users file" "$TMP/badusers:2" --users "$TMP/badusers" --check-config
bad_start "--check-config: bad key" "$TMP/unknown.conf:4" --config "$TMP/unknown.conf" --check-config
printf 'upstream up 198.51.100.9:1080 user u password-file %s\n' "$TMP/nonexistent.pw" >"$TMP/badpw.conf"
bad_start "--check-config: missing password file" "$TMP/nonexistent.pw" --config "$TMP/badpw.conf" --check-config

# --- SIGTERM drains: the listener closes at once, live connections finish, then exit 0.
gw_start --drain-timeout 10
spawn "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "${P4[@]}" \
	connect web4.test 7 send:one recv:3 wait:"$TMP/go" send:two recv:3 shut readall
LIVE_PID=$SPAWNED_PID
LIVE_LOG=$SPAWNED_LOG
wait_log "$LIVE_LOG" "data one"
pass "live connection before SIGTERM"
kill -TERM "$GW_PID"
no_listener() { [ -z "$(ip netns exec "$NS_GW" ss -Htln "sport = :$GW_PORT")" ]; }
wait_for 10 no_listener
assert_eq "$(ip netns exec "$NS_GW" ss -Htln "sport = :$GW_PORT")" "" "listeners closed on SIGTERM"
out=$(probe -t 2 "${P4[@]}" connect web4.test 7)
assert_contains "$out" "error connect" "new connections refused while draining"
kill -0 "$GW_PID" 2>/dev/null || fail "gateway exited with a live connection (drain-timeout 10)"
pass "gateway waits for the live connection"
touch "$TMP/go"
wait "$LIVE_PID"
assert_contains "$(cat "$LIVE_LOG")" "data two" "live connection kept relaying while draining"
assert_contains "$(cat "$LIVE_LOG")" 'EOF 6\x0a' "live connection finished cleanly"
gw_gone() { ! kill -0 "$GW_PID" 2>/dev/null; }
# (Well before --drain-timeout 10: it exits because its last connection closed.)
wait_for 8 gw_gone || fail "gateway still running 8 s after its last connection closed"
wait "$GW_PID"
assert_eq "$?" 0 "gateway exit status after draining"
pass "drained and exited after its last connection closed"

# The drain timeout bounds the wait for connections that never finish.
gw_start --drain-timeout 1
spawn "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "${P4[@]}" \
	connect web4.test 7 send:one recv:3 wait:"$TMP/never" recv:1
STUCK_LOG=$SPAWNED_LOG
STUCK_PID=$SPAWNED_PID
wait_log "$STUCK_LOG" "data one"
kill -TERM "$GW_PID"
wait_for 8 gw_gone || fail "gateway ignored --drain-timeout 1"
wait "$GW_PID"
pass "exited with a stuck connection (--drain-timeout 1, status $?)"
kill -0 "$STUCK_PID" 2>/dev/null || fail "the stuck client ended first: the drain timeout was not what ended the gateway"
pass "the stuck client was still waiting when the gateway gave up on it"

# --- --max-conns: clients beyond the limit are closed at once; a slot frees when one ends.
gw_start --max-conns 3
held=()
for i in 1 2 3; do
	spawn "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "${P4[@]}" \
		connect web4.test 7 send:h$i recv:2 wait:"$TMP/free$i"
	held+=("$SPAWNED_PID")
	wait_log "$SPAWNED_LOG" "data h$i"
done
out=$(probe -t 3 "${P4[@]}" raw 050100)
assert_eq "$out" "$(printf 'recv \neof')" "4th client over --max-conns 3 closed without an answer"
touch "$TMP/free1"
wait "${held[0]}"
out=$(probe -t 3 "${P4[@]}" connect web4.test 7 send:slot recv:4)
assert_contains "$out" "data slot" "a client is served once a slot is free"
touch "$TMP/free2" "$TMP/free3"
stop_pid "$GW_PID"

# --- --idle-timeout: a relay with no traffic either way is closed.
gw_start --idle-timeout 1
# "eof", not the probe's own "timeout" (20 s), and the gateway says why.
out=$(probe -t 20 "${P4[@]}" connect web4.test 7 send:idle recv:4 readall)
assert_contains "$out" "eof" "idle relay closed by the gateway"
wait_log "$GW_LOG" 'dest=web4.test:7 .*result="idle timeout'
pass "idle relay closed as an idle timeout (--idle-timeout 1)"
stop_pid "$GW_PID"

# --- File descriptors run out: no busy loop, and service resumes when they free up.
GW_EXEC="prlimit --nofile=64:64" gw_start --threads 1
out=$(probe "${P4[@]}" connect web4.test 7 send:pre recv:3)
assert_contains "$out" "data pre" "gateway with 64 fds serves"
spawn "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 3 "${P4[@]}" hold 150 "$TMP/held" "$TMP/release"
HOLD_LOG=$SPAWNED_LOG
wait_for 20 test -e "$TMP/held" || fail "could not open the connections"
log "$(cat "$HOLD_LOG")"
# The gateway takes clients up to its descriptor share, then leaves the rest in the backlog.
wait_log "$GW_LOG" 'sessions here, [0-9]+ in all use the descriptor limit; accepting waits until one ends'
open=$(ls "/proc/$GW_PID/fd" | wc -l)
[ "$open" -lt 64 ] || fail "gateway at its fd limit ($open of 64): no reserve kept"
grep -q 'Too many open files' "$GW_LOG" && fail "out of descriptors: $(grep -m 1 'Too many open files' "$GW_LOG")"
pass "gateway holds at its descriptor share ($open of 64 open)"
# A process that really spins, measured over the same 2 s, tells what a busy
# loop would get on this machine however loaded it is.
spawn "$NS_GW" sh -c 'while :; do :; done'
SPIN_PID=$SPAWNED_PID
c0=$(cpu_ticks "$GW_PID")
s0=$(cpu_ticks "$SPIN_PID")
sleep 2
c1=$(cpu_ticks "$GW_PID")
s1=$(cpu_ticks "$SPIN_PID")
stop_pid "$SPIN_PID" KILL
gw_cpu=$((c1 - c0))
spin_cpu=$((s1 - s0))
log "CPU over 2 s at the descriptor share: gateway $gw_cpu ticks, a busy loop $spin_cpu ticks"
[ "$gw_cpu" -le 10 ] || [ $((gw_cpu * 5)) -lt "$spin_cpu" ] ||
	fail "gateway spins at the fd limit: $gw_cpu ticks of CPU in 2 s (a busy loop: $spin_cpu)"
pass "no busy loop at the fd limit ($gw_cpu ticks in 2 s, a busy loop $spin_cpu)"
kill -0 "$GW_PID" 2>/dev/null || fail "gateway died at the fd limit"
touch "$TMP/release"
ok=0
for _ in $(seq 50); do
	out=$(probe -t 3 "${P4[@]}" connect web4.test 7 send:post recv:4)
	case $out in *"data post"*) ok=1 && break ;; esac
	sleep 0.2
done
[ "$ok" = 1 ] || fail "no service after the fds were freed: $out"
pass "serves again once connections close"
