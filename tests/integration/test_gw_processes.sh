#!/bin/bash
# test_gw_processes.sh — `--processes N`: N gateway processes share the listen ports, signals reach all.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
gw_start --processes 2 --threads 1
wait_log "$GW_LOG" '2 gateway processes' 1

# listener_pids: the pids holding a listening socket on the gateway port in gw.
listener_pids()
{
	ip netns exec "$NS_GW" ss -Htlnp "sport = :$GW_PORT" |
		grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}
pids=$(listener_pids)
assert_eq "$(printf '%s\n' "$pids" | grep -c .)" 2 "two processes listen on the gateway port"
assert_contains "$pids" "$GW_PID" "the first process is one of them"

# The kernel spreads connections over both listeners (SO_REUSEPORT hashes the 4-tuple).
for i in $(seq 24); do
	page=$(nsx "$NS_C4" curl -sS --max-time 10 --socks5-hostname "$GW4_ADDR:$GW_PORT" \
		http://web4.test/) || fail "request $i through the gateway"
	assert_eq "$page" "hello from s4" "request $i got the page" >/dev/null
done
wait_log "$GW_LOG" 'info: conn client=' 24
served=$(grep 'info: conn client=' "$GW_LOG" | grep -o 'socks46\[[0-9]*\]' | sort -u | grep -c .)
assert_eq "$served" 2 "both processes served connections"

# SIGHUP to the first process reaches the other one too.
n0=$(log_count "$GW_LOG" 'reloaded configuration')
kill -HUP "$GW_PID"
wait_log "$GW_LOG" 'reloaded configuration' $((n0 + 2))
reloaded=$(grep 'reloaded configuration' "$GW_LOG" | grep -o 'socks46\[[0-9]*\]' | sort -u | grep -c .)
assert_eq "$reloaded" 2 "both processes reloaded on one SIGHUP"

# SIGTERM to the first process drains and ends every process, with status 0.
kill -TERM "$GW_PID"
wait "$GW_PID"
rc=$?
assert_eq "$rc" 0 "the gateway exits 0 after SIGTERM"
gone() { ! kill -0 "$1" 2>/dev/null; }
for p in $pids; do
	wait_for 10 gone "$p" || fail "gateway process $p still runs after SIGTERM"
done
assert_eq "$(listener_pids)" "" "nothing listens after SIGTERM"
pass "--processes 2: shared port, both serve, signals reach both"
