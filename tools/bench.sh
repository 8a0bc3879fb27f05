#!/bin/bash
# bench.sh — `make bench`: socks46 beside a direct path, a plain TCP relay (HAProxy), Dante and microsocks on loopback.
#
# Everything runs in a private network namespace (its own loopback, port range
# and TIME_WAIT table, so concurrent test runs cannot disturb the figures and
# vice versa). Figures, not pass/fail: the exit status is 0 unless the bench
# itself could not run. Environment knobs:
#   BENCH_DURATION  seconds per throughput / rate run (default 2)
#   BENCH_IDLE      idle relayed connections for the memory figure (default 10000)
#   BENCH_MAX       concurrent connections socks46 must hold (default 100000 in the guest,
#                   20000 with BENCH_VM=0)
#   BENCH_CONC      connections in flight in the rate run (default 32)
#   BENCH_RUNS      throughput and rate runs per figure, best one kept (default 3); every
#                   round's ratio is printed too, so the machine's load swings show
#   BENCH_TFO       1 (default) lets the namespace's listeners take TCP Fast Open
#                   (net.ipv4.tcp_fastopen=3: the agent's handshake rides in its SYN to the
#                   gateway), 0 leaves the kernel's default (clients only)
#   BENCH_ONLY      space-separated subset of: direct socks46 haproxy dante microsocks
#                   (haproxy: a TCP relay to the sink without SOCKS5, one thread, splice:
#                   what one relay hop costs here, the floor under any proxy's figures)
#   BENCH_GATEWAY_ARGS  extra arguments for `socks46 gateway`
#   BENCH_WHOLE     0 skips the whole-path part (tools/bench/wholepath.sh: the agent's relay and
#                   its --fast-path side by side, 1 and 8 streams, connection rates)
#   BENCH_WHOLE_TCP 0 skips its TCP runs (stream, connection rate)
#   BENCH_WHOLE_IDLE  connections held through the agent for its memory figure (default 5000,
#                   capped by the descriptor limit)
#   BENCH_UDP       0 skips its UDP runs (tools/bench/udp.sh), which take these knobs:
#   BENCH_UDP_SIZE    datagram payload in bytes (default 1200)
#   BENCH_UDP_SOCKS   sockets of the several-socket run (default 4)
#   BENCH_UDP_WINDOW  datagrams in flight per socket in the saturated runs (default 64)
#   BENCH_UDP_PACE    the paced run offers this fraction of the whole path's slowest saturated
#                     rate, to show the loss below saturation (default 0.5)
#   BENCH_IPVS      0 skips one and two gateways behind IPVS in a QEMU guest (tools/bench/ipvs.sh)
#   BENCH_VM        1 (default) runs the BENCH_MAX test in a QEMU guest, every connection
#                   through one agent and one gateway process, when the host's descriptor limit
#                   is too low for one process (tools/bench/vmmax.sh; BENCH_VM_SECS bounds the
#                   run, default 1500; BENCH_VM_MEM the guest's memory, default 6G;
#                   BENCH_VM_ACCEL kvm or tcg, default KVM when a probe boots with it); 0: the
#                   gateway runs several processes on the host instead, the agent is not measured
# Time: with the defaults, about 4 minutes on the host, plus the BENCH_MAX guest (under TCG
# on 2 cores 100,000 connections through the agent open in about 3 minutes, the guest takes
# about 5; at most BENCH_VM_SECS + 2 minutes) and about 10 minutes for the IPVS guest (BENCH_IPVS=0 skips it).
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
S46_BIN=${S46_BIN:-$REPO/build/socks46}
S46_TOOLS=${S46_TOOLS:-$REPO/build/tools}
DUR=${BENCH_DURATION:-2}
IDLE_N=${BENCH_IDLE:-10000}
if [ "${BENCH_VM:-1}" = 1 ]; then
	MAX_N=${BENCH_MAX:-100000}
else
	MAX_N=${BENCH_MAX:-20000}
fi
RATE_CONC=${BENCH_CONC:-32}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-direct socks46 haproxy dante microsocks}
export S46_BIN S46_TOOLS BENCH_DURATION=$DUR BENCH_IDLE=$IDLE_N BENCH_MAX=$MAX_N
export BENCH_CONC=$RATE_CONC BENCH_ONLY=$ONLY BENCH_RUNS=$RUNS

# ---- outer half: make the namespace, run the inner half in it, always remove it ----
if [ "${1:-}" != --inner ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: needs root (private network namespace, descriptor limits)" >&2
		exit 1
	fi
	for f in "$S46_TOOLS/s46bench" "$S46_TOOLS/s46sink"; do
		[ -x "$f" ] || {
			echo "bench: $f is missing (run make first)" >&2
			exit 1
		}
	done
	NS=s46bench$$
	inner=
	cleanup_outer()
	{
		[ -n "$inner" ] && kill "$inner" 2>/dev/null && wait "$inner" 2>/dev/null
		ip netns del "$NS" 2>/dev/null
	}
	trap cleanup_outer EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS" || exit 1
	ip -n "$NS" link set lo up || exit 1
	# 20,000 relayed connections use 40,000 ephemeral ports on one loopback; the
	# servers listen below the range, so TIME_WAIT sockets never hold their ports.
	# A few rate runs leave ~75,000 TIME_WAIT sockets, each holding its local port;
	# Dante binds its outgoing socket to the external address with port 0, which
	# (unlike connect()'s autobind) needs a port no socket holds, so it ran out
	# ("bindexternaladdr(): could not bind tcp port 0", REP=0x03 to the client).
	# TIME_WAIT guards against stray segments of a network, not of a loopback:
	# the table is capped for every path alike.
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65535" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 \
		net.ipv4.tcp_max_tw_buckets=4096 ||
		exit 1
	if [ "${BENCH_TFO:-1}" = 1 ]; then
		ip netns exec "$NS" sysctl -qw net.ipv4.tcp_fastopen=3 || exit 1
	fi
	ip netns exec "$NS" "$0" --inner &
	inner=$!
	wait "$inner"
	rc=$?
	# The whole path needs the host's cgroup2 mount, which `ip netns exec` hides: it runs
	# from here and enters the namespace per process.
	if [ "$rc" = 0 ] && [ "${BENCH_WHOLE:-1}" = 1 ]; then
		NS=$NS "$REPO/tools/bench/wholepath.sh" &
		inner=$!
		wait "$inner"
		rc=$?
	fi
	if [ "$rc" = 0 ] && [ "${BENCH_IPVS:-1}" = 1 ]; then
		"$REPO/tools/bench/ipvs.sh" &
		inner=$!
		wait "$inner"
	fi
	inner=
	exit $rc
fi

# ---- inner half: runs inside the namespace ----
TMP=$(mktemp -d /tmp/s46bench.XXXXXX)
PIDS=()
NSX=()
# shellcheck source=tools/bench/lib.sh
. "$REPO/tools/bench/lib.sh"
cleanup()
{
	kill_spawned
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Raising the hard limit needs CAP_SYS_RESOURCE; without it the hard limit is all there is.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
# Every proxy gets the same descriptor limit, enough for BENCH_MAX relayed connections if allowed.
PROXY_NOFILE=${BENCH_PROXY_NOFILE:-65536}
[ "$PROXY_NOFILE" -gt "$NOFILE" ] && PROXY_NOFILE=$NOFILE
# A one-process proxy spends two descriptors per relayed connection.
# socks46 counts 3 descriptors a session against its limit (gateway.h): the same cap for all.
FD_CAP=$(((PROXY_NOFILE - 64) / 3))
LIMIT_NOTE=
# 5% headroom: besides 3 descriptors a session, the gateway keeps a reserve and pooled
# pipes out of its limit, and past its cap clients wait in the backlog (the idle test would
# wait for them).
if [ "$IDLE_N" -gt "$((FD_CAP * 95 / 100))" ]; then
	IDLE_N=$((FD_CAP * 95 / 100 / 100 * 100))
	LIMIT_NOTE="RLIMIT_NOFILE is $NOFILE here and cannot be raised (no CAP_SYS_RESOURCE): the idle test holds $IDLE_N connections (2 descriptors each in the proxy, 3 counted by socks46)"
fi

SINK_PORT=7000
declare -A PORT=([socks46]=7001 [dante]=7002 [microsocks]=7003 [haproxy]=7004)

start_proxy()
{
	local name=$1 port=${PORT[$1]}
	case $name in
	socks46)
		if [ ! -x "$S46_BIN" ]; then
			NOTE[$name]="$S46_BIN not built"
			return 1
		fi
		# shellcheck disable=SC2086
		start socks46 "$TMP/socks46.log" "$S46_BIN" gateway --listen 127.0.0.1:$port \
			${BENCH_GATEWAY_ARGS:---log-level warn} ${GW_EXTRA:-}
		;;
	dante)
		if ! command -v danted >/dev/null; then
			NOTE[$name]="danted not installed (dante-server)"
			return 1
		fi
		sed "s/@PORT@/$port/" "$REPO/tools/bench/danted.conf.in" >"$TMP/danted.conf"
		start dante "$TMP/dante.log" danted -f "$TMP/danted.conf"
		;;
	haproxy)
		if ! command -v haproxy >/dev/null; then
			NOTE[$name]="haproxy not installed"
			return 1
		fi
		haproxy_conf "$port" $SINK_PORT >"$TMP/haproxy.cfg"
		start haproxy "$TMP/haproxy.log" haproxy -db -f "$TMP/haproxy.cfg"
		;;
	microsocks)
		if ! command -v microsocks >/dev/null; then
			NOTE[$name]="microsocks not installed"
			return 1
		fi
		# microsocks logs every connection to stdout; the log file absorbs it.
		start microsocks "$TMP/microsocks.log" microsocks -i 127.0.0.1 -p "$port"
		;;
	esac
}

# client NAME: s46bench straight to the sink, or through proxy NAME.
client()
{
	CLIENT=("$S46_TOOLS/s46bench")
	VIA=(--target "127.0.0.1:$SINK_PORT")
	case $1 in
	direct) ;;
	haproxy) VIA=(--target "127.0.0.1:${PORT[haproxy]}") ;;
	*) VIA+=(--socks 127.0.0.1:"${PORT[$1]}") ;;
	esac
}

# bench_idle NAME: the memory test on a fresh proxy (and the concurrency test for socks46).
bench_idle()
{
	local name=$1
	say "== $name: idle connections"
	start_proxy "$name" || {
		say "    skipped: ${NOTE[$name]}"
		return
	}
	measure_idle "$name" "$STARTED" "$IDLE_N" idle
	kill_tree "$STARTED"
	[ "$name" = socks46 ] && measure_max
}

# bench_test TEST: every path, round after round; the proxies are started fresh for each
# test, so one test's leftovers (a stalled relay, a grown heap) cannot skew the next.
bench_test()
{
	local t=$1 n live=() started=()
	declare -A pidof=()
	say "== $t"
	for n in "${NAMES[@]}"; do
		if [ "$n" = direct ]; then
			live+=(direct)
		elif start_proxy "$n"; then
			live+=("$n")
			pidof[$n]=$STARTED
			started+=("$STARTED")
		else
			say "    $n skipped: ${NOTE[$n]}"
		fi
	done
	for _ in $(seq "$RUNS"); do
		for n in "${live[@]}"; do
			case $t in
			stream1) stream_run "$n" 1 "${pidof[$n]:-}" ;;
			stream8) stream_run "$n" 8 "${pidof[$n]:-}" ;;
			rate) rate_run "$n" "${pidof[$n]:-}" "$RATE_CONC" "" ;;
			esac
		done
	done
	for n in "${started[@]}"; do
		kill_tree "$n"
	done
}

# measure_max: socks46 holds BENCH_MAX relayed connections at once. Where one process may
# not have the descriptors for that, the gateway runs several processes (--processes) and
# the load generator and sink are split the same way.
measure_max()
{
	local per procs parts p spids=()
	say "== socks46: $MAX_N concurrent connections"
	if [ "$MAX_N" -gt "$FD_CAP" ] && [ "${BENCH_VM:-1}" = 1 ]; then
		measure_max_vm
		return
	fi
	per=$((NOFILE - 200))
	procs=1
	parts=1
	if [ "$MAX_N" -gt "$FD_CAP" ]; then
		procs=$(((3 * MAX_N + per - 1) / per + 1))
		parts=$(((MAX_N + per - 1) / per))
		NOTE[max]="$MAX_N concurrent: gateway --processes $procs, $parts load generators and sinks (RLIMIT_NOFILE is $NOFILE per process here and cannot be raised; 3 descriptors counted per relayed connection)"
	fi
	for ((p = 1; p < parts; p++)); do
		"$S46_TOOLS/s46sink" --listen 127.0.0.1:$((SINK_PORT + 10 * p)) >"$TMP/sink.$p.log" 2>&1 &
		spids+=($!)
		PIDS+=($!)
		wait_listen $((SINK_PORT + 10 * p)) $! || say "    sink $p did not start"
	done
	if GW_EXTRA="--processes $procs" start_proxy socks46; then
		measure_idle socks46 "$STARTED" "$MAX_N" max "$parts"
		kill_tree "$STARTED"
	else
		NOTE[max]="$MAX_N concurrent: the gateway with --processes $procs ${NOTE[socks46]}"
		unset 'NOTE[socks46]'
		say "    skipped: ${NOTE[max]}"
	fi
	for p in "${spids[@]}"; do
		kill_tree "$p"
	done
}

# max_vm_line LINE KEY: one guest result line ("gateway ..." or "agent ...") into max.* or
# maxag.*: connections verified, errors, bytes of Pss and of heap per connection.
max_vm_line()
{
	local line=$1 k=$2 e
	e=$(kv "$line" verified)
	[ -n "$e" ] || return 1
	R[socks46:$k.ok]=$e
	R[socks46:$k.err]=$(($(kv "$line" errors) + $(kv "$line" dropped) + $(kv "$line" failed)))
	if [ -n "$(kv "$line" after_kb)" ] && [ "$e" -gt 0 ]; then
		R[socks46:$k.bpc]=$((($(kv "$line" after_kb) - $(kv "$line" before_kb)) * 1024 / e))
		R[socks46:$k.heap]=$((($(kv "$line" heap_after_kb) - $(kv "$line" heap_before_kb)) * 1024 / e))
	fi
}

measure_max_vm()
{
	local out gl al
	say "    RLIMIT_NOFILE is $NOFILE here: running it in a QEMU guest"
	out=$(BENCH_MAX=$MAX_N "$REPO/tools/bench/vmmax.sh" "$TMP/vm")
	say "$(printf '%s\n' "$out" | sed 's/^/    guest: /')"
	gl=$(printf '%s\n' "$out" | grep '^gateway ')
	al=$(printf '%s\n' "$out" | grep '^agent ')
	max_vm_line "$gl" max ||
		NOTE[max]="$MAX_N concurrent: the guest's gateway run failed: $(kv "$gl$out" error)"
	max_vm_line "$al" maxag ||
		NOTE[maxag]="$MAX_N concurrent through the agent: the guest run failed: $(kv "$al$out" error)"
	[ -n "${NOTE[max]:-}" ] ||
		NOTE[max]="$MAX_N concurrent ran in a QEMU guest (all through one agent and one gateway process; 2 vCPUs, kernel $(kv "$gl" kernel)): RLIMIT_NOFILE is $NOFILE on this host. Heap: the main thread's brk heap (the agent's allocations; the gateway's sessions live in its worker threads' arenas)"
}

NAMES=()
for n in direct socks46 haproxy dante microsocks; do
	case " $ONLY " in *" $n "*) NAMES+=("$n") ;; esac
done

"$S46_TOOLS/s46sink" --listen 127.0.0.1:$SINK_PORT >"$TMP/sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
wait_listen $SINK_PORT $SINK_PID || {
	say "bench: s46sink did not start: $(cat "$TMP/sink.log")"
	exit 1
}

START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "${NAMES[@]}"; do
	# HAProxy is a reference for relaying, not a proxy to size: no idle run.
	[ "$n" = direct ] || [ "$n" = haproxy ] || bench_idle "$n"
done
for t in stream1 stream8 rate; do
	bench_test $t
done

printf '\nsocks46 benchmark — loopback in a private network namespace, %s CPU cores shared by\n' \
	"$(nproc)"
printf 'the load generator (one epoll thread), the proxy and the sink server (one epoll thread).\n'
printf 'Best of %s runs of %s s per throughput and rate figure. Rate: %s connections in flight,\n' \
	"$RUNS" "$DUR" "$RATE_CONC"
printf 'each a SOCKS5 CONNECT, a 16-byte request, a 64-byte response and close; latency is\n'
printf 'connect() to the first response byte. Each test starts fresh proxies and goes round\n'
printf 'all paths once per run.\n'
printf 'Load average before / after: %s / %s (other work on the machine skews the figures).\n\n' \
	"$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s' ""
for n in "${NAMES[@]}"; do printf ' %12s' "$n"; done
printf '\n'
row "1 stream (Gbit/s)" gbps1
ratio_row "1 stream (Gbit/s)" gbps1 direct
rounds_row gbps1 direct
ratio_row "1 stream (Gbit/s)" gbps1 haproxy
ratio_row "1 stream (Gbit/s)" gbps1 dante
row "  errors (stalls)" gbps1_err
row "  proxy CPU (ms per GB)" cpg1
ratio_row "  proxy CPU (ms per GB)" cpg1 dante
row "8 streams (Gbit/s)" gbps8
ratio_row "8 streams (Gbit/s)" gbps8 direct
rounds_row gbps8 direct
ratio_row "8 streams (Gbit/s)" gbps8 haproxy
ratio_row "8 streams (Gbit/s)" gbps8 dante
row "  errors (stalls)" gbps8_err
row "  proxy CPU (ms per GB)" cpg8
row "connections/s" cps
ratio_row "connections/s" cps direct
rounds_row cps direct
ratio_row "connections/s" cps haproxy
ratio_row "connections/s" cps dante
rounds_row cps dante
row "  latency p50 (us)" p50
row "  latency p99 (us)" p99
row "  errors" rate_err
row "  proxy CPU per conn (us)" cpu_us
ratio_row "  proxy CPU per conn (us)" cpu_us dante
row "idle conns held ($IDLE_N)" idle.ok
row "  errors" idle.err
row "  proxy processes" idle.procs
row "  proxy Pss before (kB)" idle.kb_before
row "  proxy Pss after (kB)" idle.kb_after
row "  bytes per idle conn" idle.bpc
ratio_row "  bytes per idle conn" idle.bpc dante
row "concurrent held ($MAX_N)" max.ok
row "  errors" max.err
row "  bytes per conn" max.bpc
row "through one agent ($MAX_N)" maxag.ok
row "  errors" maxag.err
row "  agent bytes per conn" maxag.bpc
row "  agent heap per conn" maxag.heap
for n in "${NAMES[@]}"; do
	[ -n "${NOTE[$n]:-}" ] && printf 'note: %s %s\n' "$n" "${NOTE[$n]}"
done
[ -n "$LIMIT_NOTE" ] && printf 'note: %s\n' "$LIMIT_NOTE"
[ -n "${NOTE[max]:-}" ] && printf 'note: %s\n' "${NOTE[max]}"
[ -n "${NOTE[maxag]:-}" ] && printf 'note: %s\n' "${NOTE[maxag]}"

printf '\nissue targets (socks46):\n'
target "single stream >= 0.85x direct ($(ratio "${R[socks46:gbps1]:-}" "${R[direct:gbps1]:-}"); rounds: $(round_ratios socks46 direct gbps1))" \
	"$(verdict "$(ratio "${R[socks46:gbps1]:-}" "${R[direct:gbps1]:-}" | tr -d x)" '>=' 0.85)"
target "connection rate >= 3x Dante ($(ratio "${R[socks46:cps]:-}" "${R[dante:cps]:-}"); rounds: $(round_ratios socks46 dante cps))" \
	"$(verdict "$(ratio "${R[socks46:cps]:-}" "${R[dante:cps]:-}" | tr -d x)" '>=' 3)"
[ -n "${R[haproxy:gbps1]:-}" ] &&
	target "the floor, a plain relay (HAProxy): 1 stream $(ratio "${R[haproxy:gbps1]:-}" "${R[direct:gbps1]:-}") direct, conn/s $(ratio "${R[haproxy:cps]:-}" "${R[dante:cps]:-}") Dante's" reference
target "<= 1024 bytes per idle relayed connection (${R[socks46:idle.bpc]:--})" \
	"$(verdict "${R[socks46:idle.bpc]:-}" '<=' 1024)"
max_ok="NOT MEASURED"
if [ -n "${R[socks46:max.ok]:-}" ]; then
	if [ "${R[socks46:max.ok]}" = "$MAX_N" ] && [ "${R[socks46:max.err]}" = 0 ]; then
		max_ok=met
	else
		max_ok=MISSED
	fi
fi
target "$MAX_N concurrent relayed connections without an error" "$max_ok"
target "<= 1024 bytes per connection with $MAX_N held: gateway (${R[socks46:max.bpc]:--})" \
	"$(verdict "${R[socks46:max.bpc]:-}" '<=' 1024)"
max_ok="NOT MEASURED"
if [ -n "${R[socks46:maxag.ok]:-}" ]; then
	if [ "${R[socks46:maxag.ok]}" = "$MAX_N" ] && [ "${R[socks46:maxag.err]}" = 0 ]; then
		max_ok=met
	else
		max_ok=MISSED
	fi
fi
target "$MAX_N concurrent connections through one agent without an error" "$max_ok"
target "<= 1024 bytes per connection with $MAX_N held: agent (${R[socks46:maxag.bpc]:--})" \
	"$(verdict "${R[socks46:maxag.bpc]:-}" '<=' 1024)"
# Wall-clock figures swing with the machine's other load; CPU time per unit hardly does.
cpu_note "connection (us)" "${R[socks46:cpu_us]:-}" "${R[dante:cpu_us]:-}" Dante
cpu_note "GB relayed, 1 stream (ms)" "${R[socks46:cpg1]:-}" "${R[dante:cpg1]:-}" Dante
printf '\n(Pss counts the proxy processes'"'"' memory, not kernel socket buffers; bench ran %ss.)\n' \
	$(($(date +%s) - START))
exit 0
