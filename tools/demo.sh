#!/bin/bash
# demo.sh — `make demo`: unmodified single-family programs reach the other family by name.
#
# Builds the design's test hosts as network namespaces (nothing touches the
# machine's own network), starts dnsmasq, two web servers, the gateway and
# one agent per client host, then lets curl fetch pages across families.
# Everything it creates is removed on exit, also on Ctrl-C.
set -u
. "$(dirname "$0")/../tests/integration/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '   %s\n' "$@"; }

[ -x "$S46_BIN" ] || fail "$S46_BIN is not built (run make)"

say "Test hosts (network namespaces, documentation addresses only)"
show "c4  IPv4-only client   $C4_ADDR          (no default route)" \
	"c6  IPv6-only client   $C6_ADDR        (no default route)" \
	"gw  dual-stack gateway $GW4_ADDR | $GW6_ADDR | $GW_S6_ADDR | $GW_S4_ADDR, dnsmasq" \
	"s6  IPv6-only server   $S6_ADDR   web6.test (AAAA only)" \
	"s4  IPv4-only server   $S4_ADDR      web4.test (A only)"
topo_up
mkdir -p "$TMP/www6" "$TMP/www4"
printf 'Hello from s6, an IPv6-only web server.\n' >"$TMP/www6/index.html"
printf 'Hello from s4, an IPv4-only web server.\n' >"$TMP/www4/index.html"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
WEB6_LOG=$SPAWNED_LOG
http_serve "$NS_S4" "$S4_ADDR" 80 "$TMP/www4"
WEB4_LOG=$SPAWNED_LOG

say "Gateway: socks46 gateway in gw (resolves names with dnsmasq, Happy Eyeballs)"
gw_start
show "listening on $GW4_ADDR:$GW_PORT and [$GW6_ADDR]:$GW_PORT (pid $GW_PID)"

# demo_agent NS NAME GATEWAY DNS: an agent in a client host, redirecting the cgroup NAME.
demo_agent()
{
	local cg
	cg=$(cg_make "$2")
	SPAWN_NAME=agent-$2 NS_KEEP_FS=1 spawn "$1" "$S46_BIN" agent --gateway "$3" --cgroup "$cg" \
		--control "$TMP/$2.sock" --no-pin --fake-state "$TMP/$2.state" --dns-upstream "$4"
	for _ in $(seq 100); do
		[ -S "$TMP/$2.sock" ] && break
		kill -0 "$SPAWNED_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -S "$TMP/$2.sock" ] || { cat "$SPAWNED_LOG"; fail "agent in $1 did not start"; }
	show "agent in ${1#"$T"} (pid $SPAWNED_PID) redirects cgroup $cg"
	DEMO_CG=$cg
}

# demo_client NS CG SOCK FAMILY NAME WEBLOG: resolve, hold a connection for status, fetch.
demo_client()
{
	local ns=$1 cg=$2 sock=$3 fam=$4 name=$5 weblog=$6 fake page
	fake=$(IN_CG=$cg nsx "$ns" getent "ahostsv$fam" "$name" | awk 'NR == 1 { print $1 }')
	[ "$fam" = 6 ] && fake=$(IN_CG=$cg nsx "$ns" "$PY" -c \
		"import socket; print(socket.getaddrinfo('$name', 80, socket.AF_INET6)[0][4][0])")
	[ -n "$fake" ] || fail "$name did not resolve inside ${ns#"$T"}"
	show "getaddrinfo(\"$name\") in ${ns#"$T"} -> $fake   (a fake IPv$fam address from the agent)"

	# A connection held open for a moment, so that `status` has a live one to show.
	(sleep 2; printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$name") |
		IN_CG=$cg nsx "$ns" ncat "-$fam" -w 5 "$name" 80 >/dev/null 2>&1 &
	local held=$!
	sleep 0.7
	say "socks46 status in ${ns#"$T"} while a connection is live"
	"$S46_BIN" status --control "$sock" | sed 's/^/   /'
	wait "$held"

	say "curl -$fam http://$name/ in ${ns#"$T"} (an unmodified IPv$fam-only program)"
	page=$(IN_CG=$cg nsx "$ns" curl "-$fam" -sS --max-time 10 "http://$name/") ||
		fail "curl -$fam http://$name/ failed"
	show "page: $page"
	say "what the web server saw (its peer is the gateway, in the server's own family)"
	grep -iE 'GET|connect|url' "$weblog" | tail -n 2 | sed 's/^/   /'
}

say "Agents: one per client host, each redirecting a fresh cgroup"
demo_agent "$NS_C4" app4 "$GW4_ADDR:$GW_PORT" "$GW4_ADDR"
CG4=$DEMO_CG
demo_agent "$NS_C6" app6 "[$GW6_ADDR]:$GW_PORT" "$GW6_ADDR"
CG6=$DEMO_CG

say "1. IPv4-only client -> IPv6-only server, by name"
demo_client "$NS_C4" "$CG4" "$TMP/app4.sock" 4 web6.test "$WEB6_LOG"

say "2. IPv6-only client -> IPv4-only server, by name"
demo_client "$NS_C6" "$CG6" "$TMP/app6.sock" 6 web4.test "$WEB4_LOG"

say "The gateway's log (one line per finished connection)"
tail -n 4 "$GW_LOG" | sed 's/^/   /'
say "Done: cleaning up the namespaces, cgroups and processes"
