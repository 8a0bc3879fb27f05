#!/bin/bash
# test_gw_privs.sh — the gateway with the privileges its unit gives it: a system user without
# capabilities serves on port 1080; a port below 1024 and `mark` are refused at start with one
# line naming the capability, and work once the unit's drop-in grants it (ambient capability).
. "$(dirname "$0")/lib.sh"
set -u

topo_up
echo_serve "$NS_S4" "$S4_ADDR" 7

# as_user CAPS CMD...: exec CMD as nobody with only CAPS (e.g. "" or "net_raw"), as systemd's
# User= with AmbientCapabilities= and CapabilityBoundingSet= runs it.
as_user()
{
	local caps=$1
	shift
	if [ -n "$caps" ]; then
		exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+"$caps" \
			--ambient-caps=+"$caps" --bounding-set=-all,+"$caps" --no-new-privs "$@"
	else
		exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
			--bounding-set=-all --no-new-privs "$@"
	fi
}

# relays PORT WHAT: a CONNECT through the gateway on PORT reaches the echo server.
relays()
{
	local out
	out=$(nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" "$GW4_ADDR" "$1" connect web4.test 7 \
		send:"$2" recv:${#2})
	assert_contains "$out" "data $2" "$2: relays through port $1"
}

# refused WHAT NEEDLE ARGS...: the gateway as nobody without capabilities exits 1 with one line.
refused()
{
	local what=$1 needle=$2 rc
	shift 2
	ip netns exec "$NS_GW" bash -c "$(declare -f as_user); as_user '' \"\$@\"" _ \
		"$S46_BIN" gateway "$@" >"$TMP/refused.out" 2>&1
	rc=$?
	assert_eq "$rc:$(grep -c . "$TMP/refused.out")" "1:1" "$what: exit 1 with one line"
	assert_contains "$(cat "$TMP/refused.out")" "$needle" "$what: names $needle"
}

SPAWN_NAME=gw-nobody spawn "$NS_GW" bash -c "$(declare -f as_user); as_user '' \"\$@\"" _ \
	"$S46_BIN" gateway --listen "$GW4_ADDR:1080"
wait_port "$NS_GW" "$GW4_ADDR" 1080
assert_eq "$(ps -o user=,comm= -p "$SPAWNED_PID" | tr -s ' ')" "nobody socks46" \
	"runs as a user without capabilities"
assert_eq "$(awk '/^CapEff/ { print $2 }' "/proc/$SPAWNED_PID/status")" 0000000000000000 \
	"no effective capability"
relays 1080 unprivileged
stop_pid "$SPAWNED_PID" >/dev/null

refused "port 443 without CAP_NET_BIND_SERVICE" "Permission denied" --listen "$GW4_ADDR:443"
refused "mark without CAP_NET_RAW" "SO_MARK needs CAP_NET_RAW" --listen "$GW4_ADDR:1080" --mark 0x5346

SPAWN_NAME=gw-caps spawn "$NS_GW" bash -c "$(declare -f as_user); as_user net_bind_service,+net_raw \"\$@\"" \
	_ "$S46_BIN" gateway --listen "$GW4_ADDR:443" --mark 0x5346
wait_port "$NS_GW" "$GW4_ADDR" 443
relays 443 withcaps
stop_pid "$SPAWNED_PID" >/dev/null
