#!/bin/bash
# soak.sh — slow floods against a gateway and an agent in test namespaces; prints what service looked like during each.
# usage: tools/soak.sh [STEP...]   STEP: a prefix of a file name in tools/soak/ (default: every NN-*.sh)
#
# Each tools/soak/NN-NAME.sh is one flood. It is sourced in a subshell after the
# topology is up (tests/integration/lib.sh: c4, c6, gw, s4, s6, dnsmasq in gw) and
# uses the helpers below; whatever it started is stopped after it, whether it
# passed or not. A flood's lines say what it did and what a normal client saw meanwhile.
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tests/integration/lib.sh"
SOAK_DIR=$REPO/tools/soak

# Flood clients hold thousands of sockets: take the hard limit.
ulimit -n "$(ulimit -Hn)" || fail "cannot raise the descriptor limit"

# soak_say TEXT...: one line of the report.
soak_say() { printf '    %s\n' "$*"; }

# soak_ms: milliseconds on a monotonic-enough clock, for durations in the report.
soak_ms() { echo $(($(date +%s%N) / 1000000)); }

# soak_curl LABEL N [CURL-ARGS...]: N fetches of http://web6.test/ from c4 through the
# gateway; reports how many succeeded and how long they took.
soak_curl()
{
	local label=$1 n=$2 ok=0 t times=()
	shift 2
	for _ in $(seq "$n"); do
		t=$(nsx "$NS_C4" curl -sS -o /dev/null --max-time 15 -w '%{time_total}' \
			--socks5-hostname "$GW4_ADDR:$GW_PORT" "$@" http://web6.test/ 2>/dev/null) && ok=$((ok + 1))
		times+=("${t:-fail}")
	done
	soak_say "$label: curl through the gateway $ok/$n ok, seconds: ${times[*]}"
}

# soak_fds PID: how many descriptors PID holds.
soak_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# soak_gw [ARGS...]: a gateway in gw (lib.sh's gw_start); GW_PID, GW_LOG.
soak_gw() { gw_start "$@"; }

# shellcheck disable=SC2034 # CTL and DNS_PORT are for the flood scripts
# soak_agent NAME [ARGS...]: an agent in c4 redirecting a fresh cgroup, its DNS upstream
# the dnsmasq in gw; sets AGENT_PID, AGENT_LOG, CTL, DNS_PORT.
soak_agent()
{
	local name=$1
	shift
	CTL=$TMP/$name.sock
	agent_spawn "$NS_C4" "$name" "$CTL" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$(cg_make "$name")" \
		--no-pin --fake-state "$TMP/$name.fakeip" --dns-upstream "$GW4_ADDR" "$@"
	DNS_PORT=$("$PY" "$ITEST_DIR/agent_ctl.py" "$CTL" dns_port) || fail "no status from the agent"
}

# _soak_others: the processes in the namespaces besides dnsmasq and the web server.
_soak_others()
{
	local ns pid
	for ns in "${TOPO_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = "$DNS_PID" ] || [ "$pid" = "$HTTP_PID" ] || echo "$pid"
		done
	done
}

_soak_none_left() { [ -z "$(_soak_others)" ]; }

# _soak_reset: stop everything a flood started before the next one (TERM, then KILL).
_soak_reset()
{
	local pid
	for pid in $(_soak_others); do
		kill -TERM "$pid" 2>/dev/null
	done
	wait_for 5 _soak_none_left && return 0
	for pid in $(_soak_others); do
		kill -KILL "$pid" 2>/dev/null
	done
	wait_for 5 _soak_none_left
}

steps=()
for f in "$SOAK_DIR"/[0-9]*.sh; do
	if [ $# = 0 ]; then
		steps+=("$f")
	else
		for want in "$@"; do
			case $(basename "$f") in "$want"*) steps+=("$f") ;; esac
		done
	fi
done
[ ${#steps[@]} -gt 0 ] || fail "no soak step matches: $*"

topo_up
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
HTTP_PID=$SPAWNED_PID
failed=()
for f in "${steps[@]}"; do
	name=$(basename "$f" .sh)
	printf '== %s: %s\n' "$name" "$(sed -n '2s/^# [^ ]* — //p' "$f")"
	start=$(soak_ms)
	# shellcheck disable=SC1090 # one flood per file
	(. "$f")
	rc=$?
	_soak_reset
	result="FAILED (exit $rc)"
	[ "$rc" = 0 ] && result="done"
	printf '   %s in %ss\n' "$result" $((($(soak_ms) - start) / 1000))
	[ "$rc" = 0 ] || failed+=("$name")
done
[ ${#failed[@]} = 0 ] || fail "soak steps failed: ${failed[*]}"
exit 0
