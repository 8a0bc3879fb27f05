# lib.sh — network-namespace test topology, process and cgroup helpers, assertions; sourced by namespace tests.
#
# Topology (the test suites are described in the README, "Tests"):
#   c4 198.51.100.2/24  <-> gw 198.51.100.1/24
#   c6 2001:db8:c6::2/64 <-> gw 2001:db8:c6::1/64
#   gw 2001:db8:6::1/64 <-> s6 2001:db8:6::2/64
#   gw 203.0.113.1/24   <-> s4 203.0.113.2/24
# Interface names inside each namespace are the peer's role (c4 sees "gw",
# gw sees "c4", "c6", "s4", "s6"), so they never collide between runs.
#
# Use: #!/bin/bash, then `. "$(dirname "$0")/lib.sh"; topo_up`.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
S46_BIN=${S46_BIN:-$REPO/build/socks46}
S46_TOOLS=${S46_TOOLS:-$REPO/build/tools}
ITEST_DIR=$REPO/tests/integration
PY=/usr/bin/python3
export REPO S46_BIN S46_TOOLS
. "$ITEST_DIR/helpers.sh"

# Short on purpose: namespace names end up in /etc/netns and in logs.
T=s46$$
TMP=$(mktemp -d "/tmp/$T.XXXXXX")
# Every file a test writes lives under $TMP: an empty TMP would put them at /.
if [ -z "$TMP" ] || [ ! -d "$TMP" ]; then
	echo "FAIL: cannot create a temporary directory under /tmp" >&2
	exit 1
fi
NS_C4=${T}c4
NS_C6=${T}c6
NS_GW=${T}gw
NS_S4=${T}s4
NS_S6=${T}s6

C4_ADDR=198.51.100.2
GW4_ADDR=198.51.100.1
C6_ADDR=2001:db8:c6::2
GW6_ADDR=2001:db8:c6::1
GW_S6_ADDR=2001:db8:6::1
S6_ADDR=2001:db8:6::2
GW_S4_ADDR=203.0.113.1
S4_ADDR=203.0.113.2
GW_PORT=1080
# Addresses on the server links that nobody answers (see topo_blackhole).
BH4_ADDR=203.0.113.99
BH6_ADDR=2001:db8:6::99

SPAWNED=()
SPAWN_N=0
DNS_EXTRA=()
TOPO_NS=()
_CLEANED=0

# _nsexec NS CMD...: exec CMD in NS (run it in a subshell). With IN_CG set the
# process joins that cgroup first, so the cgroup owns every socket CMD creates
# (the join happens outside: ip netns exec remounts /sys, hiding the cgroup2
# mount). With NS_KEEP_FS=1 it enters only the network namespace (nsenter):
# /sys/fs/cgroup and /etc stay the host's, as a BPF loader needs.
_nsexec()
{
	local ns=$1
	shift
	if [ -n "${IN_CG:-}" ]; then
		echo "$BASHPID" >"$IN_CG/cgroup.procs" || exit 125
	fi
	if [ "${NS_KEEP_FS:-0}" = 1 ]; then
		exec nsenter --net="/run/netns/$ns" "$@"
	fi
	exec ip netns exec "$ns" "$@"
}

# nsx NS CMD...: run CMD in namespace NS (see _nsexec for IN_CG, NS_KEEP_FS).
nsx()
{
	(_nsexec "$@")
}

# spawn NS CMD...: start CMD in the background in NS, output in $TMP/<n>.log;
# sets SPAWNED_PID and SPAWNED_LOG (named after CMD or $SPAWN_NAME). Cleanup kills it.
# Call it in the test's shell, not in $(...): a subshell's spawn is not tracked.
spawn()
{
	SPAWN_N=$((SPAWN_N + 1))
	SPAWNED_LOG=$TMP/$SPAWN_N-${SPAWN_NAME:-$(basename "$2")}.log
	: >"$SPAWNED_LOG"
	_nsexec "$@" >>"$SPAWNED_LOG" 2>&1 </dev/null &
	SPAWNED_PID=$!
	SPAWNED+=("$SPAWNED_PID")
}

# stop_pid PID [SIGNAL]: signal a spawned process and reap it; prints its exit status.
stop_pid()
{
	local pid=$1 sig=${2:-TERM} i
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# conn_line LOG REGEX: the last line of LOG matching REGEX (grep -E), once there
# is one: a gateway logs a connection when it ends, which may be a moment after
# its client saw the last byte. Empty if none comes (then the caller's assert fails).
conn_line()
{
	wait_log "$1" "$2" >&2 && grep -E -- "$2" "$1" | tail -n 1
}

# gw_reload [PID] [LOG]: SIGHUP the gateway (default GW_PID, GW_LOG) and wait
# until it has applied or refused the new configuration.
gw_reload()
{
	local pid=${1:-$GW_PID} log=${2:-$GW_LOG} n0
	n0=$(log_count "$log" 'reloaded configuration|reload: .*keeping the previous')
	kill -HUP "$pid" || fail "SIGHUP to $pid"
	wait_log "$log" 'reloaded configuration|reload: .*keeping the previous' $((n0 + 1))
}

# wait_port NS ADDR PORT [TIMEOUT]: wait until something listens on TCP ADDR:PORT in NS.
wait_port()
{
	local ns=$1 addr=$2 port=$3 tmo=${4:-10} end
	end=$(($(date +%s%N) + tmo * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		ip netns exec "$ns" ss -Htln "sport = :$port" 2>/dev/null |
			awk -v a="$addr" '{ l = $4; sub(/:[0-9]+$/, "", l); gsub(/[][]/, "", l);
				sub(/%.*/, "", l); if (l == a || l == "*" || l == "0.0.0.0" || l == "::") f = 1 }
				END { exit !f }' && return 0
		sleep 0.05
	done
	fail "nothing listens on $addr:$port in $ns after ${tmo}s"
}

# _bracket ADDR: [v6] or v4, for ADDR:PORT strings.
_bracket()
{
	case $1 in
	*:*) printf '[%s]' "$1" ;;
	*) printf '%s' "$1" ;;
	esac
}

# http_serve NS ADDR PORT DIR: a real web server (busybox httpd); DIR/index.html
# says which namespace served it unless the caller wrote one. Log: $SPAWNED_LOG.
http_serve()
{
	local ns=$1 addr=$2 port=$3 dir=$4
	mkdir -p "$dir"
	[ -e "$dir/index.html" ] || printf 'hello from %s\n' "${ns#"$T"}" >"$dir/index.html"
	SPAWN_NAME=httpd-${ns#"$T"} spawn "$ns" busybox httpd -f -vv -p "$(_bracket "$addr"):$port" -h "$dir"
	wait_port "$ns" "$addr" "$port"
}

# echo_serve NS ADDR PORT: echoes every byte; after the client's EOF (half-close)
# sends "EOF <bytes>\n" and closes. Logs "conn <peer-addr> <peer-port>" per connection.
echo_serve()
{
	SPAWN_NAME=echo-${1#"$T"} spawn "$1" "$PY" -u "$ITEST_DIR/echo_server.py" "$2" "$3"
	wait_port "$1" "$2" "$3"
}

# bind_start NS GW-ADDR GW-PORT DST [STEP...]: a SOCKS5 BIND client (socks5_probe.py)
# in NS in the background; waits for the first reply, sets BND_ADDR, BND_PORT,
# BIND_PID, BIND_OUT. DST.PORT is 0; BIND_TMO is the client's timeout per read (default 8 s).
# Call bind_end for its output.
BIND_N=0
bind_start()
{
	local ns=$1 gwaddr=$2 gwport=$3 dst=$4 bnd
	shift 4
	BIND_N=$((BIND_N + 1))
	BIND_OUT=$TMP/bind$BIND_N.out
	bnd=$TMP/bnd$BIND_N
	nsx "$ns" "$PY" "$ITEST_DIR/socks5_probe.py" -t "${BIND_TMO:-8}" "$gwaddr" "$gwport" connect "$dst" 0 --cmd 2 \
		--bnd-file "$bnd" "$@" >"$BIND_OUT" 2>&1 &
	BIND_PID=$!
	for _ in $(seq 400); do
		[ -e "$bnd" ] && break
		kill -0 "$BIND_PID" 2>/dev/null || break
		sleep 0.025
	done
	[ -e "$bnd" ] || fail "BIND $dst: no successful first reply: $(cat "$BIND_OUT")"
	read -r BND_ADDR BND_PORT <"$bnd"
}

# bind_end: wait for the BIND client; its output in BIND_RES.
bind_end()
{
	wait "$BIND_PID"
	BIND_RES=$(cat "$BIND_OUT")
}

# bind_peer NS ADDR PORT [--src SRC] [STEP...]: a plain TCP connection (the host
# that connects in to a BIND port); prints "local ADDR PORT" and the steps' output.
bind_peer() { nsx "$1" "$PY" "$ITEST_DIR/socks5_probe.py" -t 8 "$2" "$3" plain "${@:4}"; }

# gw_start [ARGS...]: the gateway in gw, listening on both client links; sets GW_PID, GW_LOG.
# GW_EXEC is an optional command prefix (e.g. "prlimit --nofile=64:64").
gw_start()
{
	# shellcheck disable=SC2086 # GW_EXEC is a list of words
	SPAWN_NAME=gateway spawn "$NS_GW" ${GW_EXEC:-} "$S46_BIN" gateway --listen "$GW4_ADDR:$GW_PORT" \
		--listen "[$GW6_ADDR]:$GW_PORT" "$@"
	GW_PID=$SPAWNED_PID
	GW_LOG=$SPAWNED_LOG
	wait_port "$NS_GW" "$GW4_ADDR" "$GW_PORT"
	wait_port "$NS_GW" "$GW6_ADDR" "$GW_PORT"
}

# cg_make NAME: create a cgroup under this run's parent cgroup and print its path.
cg_make()
{
	local root
	root=$(cg_root)
	[ -n "$root" ] || fail "no cgroup2 mount"
	mkdir -p "$root/$T/$1" || fail "cannot create cgroup $root/$T/$1"
	printf '%s\n' "$root/$T/$1"
}

_cg_remove()
{
	local dir=$1 sub pid
	[ -d "$dir" ] || return 0
	for sub in "$dir"/*/; do
		[ -d "$sub" ] && _cg_remove "${sub%/}"
	done
	if [ -e "$dir/cgroup.kill" ]; then
		echo 1 >"$dir/cgroup.kill" 2>/dev/null
	else
		for pid in $(cat "$dir/cgroup.procs" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	fi
	for _ in $(seq 50); do
		rmdir "$dir" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "cleanup: cannot remove cgroup $dir" >&2
}

_ns_add()
{
	local pid
	# A namespace with this run's name can only be left over from a killed
	# run whose shell had the same pid: it is stale.
	if [ -e "/run/netns/$1" ]; then
		for pid in $(ip netns pids "$1" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$1"
	fi
	ip netns add "$1" || fail "ip netns add $1"
	TOPO_NS+=("$1")
	ip -n "$1" link set lo up
	# Addresses must be usable at once: no duplicate address detection.
	ip netns exec "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/accept_dad \
		/proc/sys/net/ipv6/conf/default/accept_dad; do echo 0 >$f; done'
}

# _link NS_A IF_IN_A NS_B IF_IN_B: a veth pair between two namespaces, both ends up.
_link()
{
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || fail "veth $1/$2 <-> $3/$4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

_addr()
{
	case $3 in
	*:*) ip -n "$1" addr add "$3" dev "$2" nodad ;;
	*) ip -n "$1" addr add "$3" dev "$2" ;;
	esac
}

_resolv()
{
	mkdir -p "/etc/netns/$1"
	printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$2" >"/etc/netns/$1/resolv.conf"
	# ip netns exec also bind-mounts hosts: keep names out of /etc/hosts.
	printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$1/hosts"
}

# ns_new SHORT: an extra namespace $T<SHORT> (lo up, no DAD) for tests that
# need more hosts than topo_up builds. Cleanup removes it. Call it in the
# test's shell, not in $(...): a subshell's namespaces are not tracked.
ns_new()
{
	_ns_add "$T$1"
}

# ns_link NS_A IF_IN_A NS_B IF_IN_B: a veth pair between two namespaces, both ends up.
ns_link() { _link "$@"; }

# ns_addr NS IF ADDR/LEN: an address, usable at once (no DAD).
ns_addr() { _addr "$@"; }

# ns_resolv NS NAMESERVER [HOSTS-LINE...]: the namespace's resolv.conf (and extra /etc/hosts lines).
ns_resolv()
{
	local ns=$1 line
	_resolv "$ns" "$2"
	shift 2
	for line in "$@"; do
		printf '%s\n' "$line" >>"/etc/netns/$ns/hosts"
	done
}

# dns_serve NS LISTEN-ADDRS RECORD...: one more dnsmasq in NS, listening on the
# comma-separated addresses, port 53; RECORD is a dnsmasq line (host-record=...).
# Every other name under .test is NXDOMAIN. Sets SPAWNED_PID/SPAWNED_LOG.
dns_serve()
{
	local ns=$1 listen=$2 conf
	shift 2
	conf=$TMP/dnsmasq-${ns#"$T"}.conf
	{
		printf '%s\n' no-resolv no-hosts no-poll bind-interfaces user=root log-facility=- \
			log-queries local=/test/ "listen-address=$listen" "pid-file=$conf.pid"
		printf '%s\n' "$@"
	} >"$conf"
	SPAWN_NAME=dnsmasq-${ns#"$T"} spawn "$ns" dnsmasq --keep-in-foreground --conf-file="$conf"
	ip netns exec "$ns" sh -c 'for i in $(seq 200); do
		ss -Hlun "sport = :53" | grep -q . && exit 0; sleep 0.05; done; exit 1' ||
		fail "dnsmasq in $ns did not start"
}

# s46_spawn NS NAME LISTEN-ADDR PORT [ARGS...]: one more socks46 gateway (logs
# at $TMP/<n>-NAME.log), waits for its port; sets SPAWNED_PID, SPAWNED_LOG.
s46_spawn()
{
	local ns=$1 name=$2 addr=$3 port=$4
	shift 4
	SPAWN_NAME=$name spawn "$ns" "$S46_BIN" gateway --listen "$(_bracket "$addr"):$port" "$@"
	wait_port "$ns" "$addr" "$port"
}

_dns_up()
{
	cat >"$TMP/dnsmasq.conf" <<-EOF
		no-resolv
		no-hosts
		no-poll
		bind-interfaces
		listen-address=127.0.0.1,$GW4_ADDR,$GW6_ADDR
		user=root
		pid-file=$TMP/dnsmasq.pid
		log-facility=-
		log-queries
		# Everything under .test is answered here: unknown names get NXDOMAIN.
		local=/test/
		host-record=web6.test,$S6_ADDR
		host-record=web4.test,$S4_ADDR
		host-record=dual.test,$S4_ADDR,$S6_ADDR
		# With topo_blackhole: one dead address (he.test), or only dead ones (dead.test).
		host-record=he.test,$S4_ADDR,$BH6_ADDR
		host-record=dead.test,$BH4_ADDR,$BH6_ADDR
	EOF
	# A test's own names (set DNS_EXTRA=(dnsmasq lines) before topo_up).
	printf '%s\n' "${DNS_EXTRA[@]}" >>"$TMP/dnsmasq.conf"
	spawn "$NS_GW" dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf"
	DNS_PID=$SPAWNED_PID
	DNS_LOG=$SPAWNED_LOG
	ip netns exec "$NS_GW" sh -c 'for i in $(seq 200); do
		ss -Hlun "sport = :53" | grep -q 127.0.0.1 && exit 0; sleep 0.05; done; exit 1' ||
		fail "dnsmasq did not start"
}

# topo_up: build the five namespaces, links, addresses, resolvers and dnsmasq.
topo_up()
{
	local ns
	for ns in "$NS_C4" "$NS_C6" "$NS_GW" "$NS_S4" "$NS_S6"; do
		_ns_add "$ns"
	done
	_link "$NS_GW" c4 "$NS_C4" gw
	_link "$NS_GW" c6 "$NS_C6" gw
	_link "$NS_GW" s6 "$NS_S6" gw
	_link "$NS_GW" s4 "$NS_S4" gw
	_addr "$NS_C4" gw "$C4_ADDR/24"
	_addr "$NS_GW" c4 "$GW4_ADDR/24"
	_addr "$NS_C6" gw "$C6_ADDR/64"
	_addr "$NS_GW" c6 "$GW6_ADDR/64"
	_addr "$NS_GW" s6 "$GW_S6_ADDR/64"
	_addr "$NS_S6" gw "$S6_ADDR/64"
	_addr "$NS_GW" s4 "$GW_S4_ADDR/24"
	_addr "$NS_S4" gw "$S4_ADDR/24"
	_resolv "$NS_C4" "$GW4_ADDR"
	_resolv "$NS_C6" "$GW6_ADDR"
	_resolv "$NS_GW" 127.0.0.1
	_dns_up
}

# topo_blackhole: gw gets neighbour entries for BH4_ADDR and BH6_ADDR that
# point at a MAC nobody has: SYNs leave and vanish, connects really time out
# (an unanswered ARP/ND would fail fast with EHOSTUNREACH instead).
topo_blackhole()
{
	ip -n "$NS_GW" neigh replace "$BH4_ADDR" lladdr 02:00:00:00:00:99 dev s4 nud permanent &&
		ip -n "$NS_GW" -6 neigh replace "$BH6_ADDR" lladdr 02:00:00:00:00:99 dev s6 nud permanent ||
		fail "blackhole neighbour entries"
}

_kill_all()
{
	local pid ns
	for pid in "${SPAWNED[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SPAWNED[@]}"; do
		for _ in $(seq 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Anything else still inside this run's namespaces was started by this test.
	for ns in "${TOPO_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
}

_dump_logs()
{
	local f
	for f in "$TMP"/*.log; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last 25 lines)\n' "$(basename "$f")"
		tail -n 25 "$f"
	done
}

# cleanup: idempotent; on failure it shows the spawned processes' logs first.
cleanup()
{
	local rc=$? ns root
	[ "$_CLEANED" = 1 ] && return 0
	_CLEANED=1
	trap - EXIT INT TERM
	_kill_all
	# Sanitizer builds report at exit (leaks) or abort mid-run: either fails the test.
	if [ "$rc" = 0 ] && [ -d "$TMP" ] &&
		grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP"/*.log 2>/dev/null; then
		echo "FAIL: sanitizer report in the logs above"
		rc=1
	fi
	if [ "$rc" != 0 ] && [ -d "$TMP" ]; then
		_dump_logs
		# Again after the logs: tests/run.sh shows only the end of the output.
		[ -n "${FAIL_MSG:-}" ] && printf 'FAIL: %s\n' "$FAIL_MSG"
	fi
	root=$(cg_root)
	[ -n "$root" ] && _cg_remove "$root/$T"
	for ns in "${TOPO_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	rm -rf "$TMP"
	return "$rc"
}

trap 'cleanup; exit $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# agent_spawn NS NAME SOCK [ARGS...]: `socks46 agent --control SOCK ARGS` in NS (host /sys kept
# for BPF); returns once SOCK answers `status`; sets AGENT_PID and AGENT_LOG; fails with the
# log when the agent exits first.
agent_spawn()
{
	local ns=$1 name=$2 sock=$3
	shift 3
	SPAWN_NAME=agent-$name NS_KEEP_FS=1 spawn "$ns" "$S46_BIN" agent --control "$sock" \
		--optin-state "$TMP/$name.optins" "$@"
	AGENT_PID=$SPAWNED_PID AGENT_LOG=$SPAWNED_LOG
	for _ in $(seq 100); do
		[ -S "$sock" ] && "$PY" "$ITEST_DIR/agent_ctl.py" "$sock" >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$AGENT_LOG"
	fail "agent $name did not start"
}
