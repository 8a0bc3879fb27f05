#!/bin/bash
# bench.sh — `make bench`: socks46 beside a direct path, Dante and microsocks on loopback.
#
# Everything runs in a private network namespace (its own loopback, port range
# and TIME_WAIT table, so concurrent test runs cannot disturb the figures and
# vice versa). Figures, not pass/fail: the exit status is 0 unless the bench
# itself could not run. Environment knobs:
#   BENCH_DURATION  seconds per throughput / rate run (default 2)
#   BENCH_IDLE      idle relayed connections for the memory figure (default 10000)
#   BENCH_MAX       concurrent connections socks46 must hold (default 20000)
#   BENCH_CONC      connections in flight in the rate run (default 32)
#   BENCH_RUNS      throughput and rate runs per figure, best one kept (default 3)
#   BENCH_ONLY      space-separated subset of: direct socks46 dante microsocks
#   BENCH_GATEWAY_ARGS  extra arguments for `socks46 gateway`
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
S46_BIN=${S46_BIN:-$REPO/build/socks46}
S46_TOOLS=${S46_TOOLS:-$REPO/build/tools}
DUR=${BENCH_DURATION:-2}
IDLE_N=${BENCH_IDLE:-10000}
MAX_N=${BENCH_MAX:-20000}
RATE_CONC=${BENCH_CONC:-32}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-direct socks46 dante microsocks}
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
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65535" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 ||
		exit 1
	ip netns exec "$NS" "$0" --inner &
	inner=$!
	wait "$inner"
	rc=$?
	inner=
	exit $rc
fi

# ---- inner half: runs inside the namespace ----
TMP=$(mktemp -d /tmp/s46bench.XXXXXX)
PIDS=()
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill_tree "$p"
	done
	wait 2>/dev/null
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
FD_CAP=$(((PROXY_NOFILE - 64) / 2))
LIMIT_NOTE=
if [ "$IDLE_N" -gt "$FD_CAP" ]; then
	IDLE_N=$((FD_CAP / 100 * 100))
	LIMIT_NOTE="RLIMIT_NOFILE is $NOFILE here and cannot be raised (no CAP_SYS_RESOURCE): the idle test holds $IDLE_N connections (2 descriptors each in the proxy)"
fi

SINK_PORT=7000
declare -A PORT=([socks46]=7001 [dante]=7002 [microsocks]=7003)
declare -A R    # R[name:metric] = value
declare -A NOTE # why a column is empty

say() { printf '%s\n' "$*" >&2; }

# kv LINE KEY: the value of KEY=... in a s46bench output line.
kv()
{
	local w
	for w in $1; do
		case $w in "$2"=*)
			printf '%s' "${w#*=}"
			return
			;;
		esac
	done
}

# tree PID: PID and all its descendants (this kernel has no /proc/PID/task/TID/children).
tree()
{
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END {
			for (i = 1; i <= NR; i++) {
				p = pids[i]
				for (q = p; q != "" && q != 0 && q != 1; q = parent[q])
					if (q == root) { print p; break }
			}
		}'
}

kill_tree()
{
	local pids
	pids=$(tree "$1")
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null
	wait "$1" 2>/dev/null
}

# mem_kb PID: proportional set size (Pss, kB) of PID's whole process tree — danted forks.
mem_kb()
{
	local p sum=0 v
	for p in $(tree "$1"); do
		v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

nprocs() { tree "$1" | wc -l; }

# cpu_ticks PID: user+system clock ticks of PID's tree (children that exited are in cutime).
cpu_ticks()
{
	local p sum=0 v
	for p in $(tree "$1"); do
		v=$(awk '{print $14 + $15 + $16 + $17}' /proc/"$p"/stat 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

wait_listen()
{
	local port=$1 pid=$2
	for _ in $(seq 50); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start NAME LOG CMD...: starts a proxy with the proxies' descriptor limit; sets STARTED.
start()
{
	local name=$1 log=$2
	shift 2
	(
		ulimit -n $PROXY_NOFILE
		exec "$@"
	) >"$log" 2>&1 </dev/null &
	STARTED=$!
	PIDS+=("$STARTED")
	if ! wait_listen "${PORT[$name]}" "$STARTED"; then
		NOTE[$name]="did not start: $(tail -n 2 "$log" | tr '\n' ' ' | cut -c1-160)"
		kill_tree "$STARTED"
		return 1
	fi
}

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
			${BENCH_GATEWAY_ARGS:---log-level warn}
		;;
	dante)
		if ! command -v danted >/dev/null; then
			NOTE[$name]="danted not installed (dante-server)"
			return 1
		fi
		sed "s/@PORT@/$port/" "$REPO/tools/bench/danted.conf.in" >"$TMP/danted.conf"
		start dante "$TMP/dante.log" danted -f "$TMP/danted.conf"
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

# via NAME: the s46bench arguments that route through NAME.
via()
{
	[ "$1" = direct ] || printf -- '--socks 127.0.0.1:%s' "${PORT[$1]}"
}

run_bench()
{
	local out
	out=$("$S46_TOOLS/s46bench" "$@" 2>"$TMP/bench.err")
	[ -s "$TMP/bench.err" ] && say "    $(head -c 300 "$TMP/bench.err")"
	printf '%s' "$out"
}

# better A B: true if A is a larger number than B (B may be empty).
better() { awk -v a="${1:-0}" -v b="${2:-}" 'BEGIN { exit !(b == "" || a + 0 > b + 0) }'; }

# Throughput and rate take the best of BENCH_RUNS runs: the cores are shared with whatever
# else the machine runs, and a disturbed run only ever looks slower.
measure_stream()
{
	local name=$1 n=$2 line best= errs=0 r e
	for r in $(seq "$RUNS"); do
		# shellcheck disable=SC2046
		line=$(run_bench stream --target 127.0.0.1:$SINK_PORT $(via "$name") --conc "$n" \
			--duration "$DUR" --timeout $((DUR + 15)))
		say "    stream x$n: $line"
		e=$(kv "$line" errors)
		errs=$((errs + ${e:-1}))
		# A run with an error (a stalled relay) has no throughput figure.
		[ "${e:-1}" = 0 ] && better "$(kv "$line" gbps)" "$best" && best=$(kv "$line" gbps)
		# A relay that stalls once will stall again: do not wait out the limit three times.
		[ "${e:-1}" = 0 ] || break
	done
	R[$name:gbps$n]=$best
	R[$name:gbps${n}_err]=$errs
}

measure_rate()
{
	local name=$1 pid=${2:-} line t0 t1 best= errs=0 conns=0 r e c
	[ -n "$pid" ] && t0=$(cpu_ticks "$pid")
	for r in $(seq "$RUNS"); do
		# shellcheck disable=SC2046
		line=$(run_bench rate --target 127.0.0.1:$SINK_PORT $(via "$name") \
			--conc "$RATE_CONC" --duration "$DUR" --timeout $((DUR + 30)))
		say "    rate: $line"
		e=$(kv "$line" errors)
		c=$(kv "$line" conns)
		errs=$((errs + ${e:-1}))
		conns=$((conns + ${c:-0}))
		if better "$(kv "$line" cps)" "$best"; then
			best=$(kv "$line" cps)
			R[$name:p50]=$(kv "$line" p50_us)
			R[$name:p99]=$(kv "$line" p99_us)
		fi
	done
	R[$name:cps]=$best
	R[$name:rate_err]=$errs
	if [ -n "$pid" ] && [ "$conns" -gt 0 ]; then
		t1=$(cpu_ticks "$pid")
		# Proxy CPU per connection in microseconds (clock ticks are 1/100 s).
		R[$name:cpu_us]=$(((t1 - t0) * 10000 / conns))
	fi
}

# measure_idle NAME PID COUNT KEY: holds COUNT relayed connections, records memory and errors.
measure_idle()
{
	local name=$1 pid=$2 n=$3 key=$4 ready=$TMP/ready.$name.$n bpid before after i line
	local conc=256
	before=$(mem_kb "$pid")
	# shellcheck disable=SC2046
	"$S46_TOOLS/s46bench" idle --target 127.0.0.1:$SINK_PORT $(via "$name") --count "$n" \
		--conc $conc --ready-file "$ready" --hold 300 --timeout 300 \
		>"$TMP/idle.out" 2>"$TMP/idle.err" &
	bpid=$!
	PIDS+=("$bpid")
	for i in $(seq 1200); do
		[ -s "$ready" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$ready" ]; then
		sleep 1 # let the proxy settle what it allocates per connection
		after=$(mem_kb "$pid")
		R[$name:$key.procs]=$(nprocs "$pid")
		kill -USR1 "$bpid"
	else
		say "    idle $n: not all connections opened within $((i / 10)) s"
		after=
	fi
	wait "$bpid"
	line=$(grep idle-verify "$TMP/idle.out")
	say "    idle $n: $(grep 'mode=idle ' "$TMP/idle.out") $line"
	[ -s "$TMP/idle.err" ] && say "    $(head -c 300 "$TMP/idle.err")"
	local est errs
	est=$(kv "$line" verified)
	errs=$(($(kv "$line" errors) + $(kv "$line" dropped) + $(kv "$line" failed)))
	R[$name:$key.ok]=${est:-0}
	R[$name:$key.err]=$errs
	if [ -n "$after" ] && [ "${est:-0}" -gt 0 ]; then
		R[$name:$key.kb_before]=$before
		R[$name:$key.kb_after]=$after
		R[$name:$key.bpc]=$(((after - before) * 1024 / est))
	fi
}

# bench_one NAME: every test gets a freshly started proxy, so one test's leftovers (a
# stalled relay, a grown heap) cannot skew the next.
bench_one()
{
	local name=$1 pid= t
	say "== $name"
	if [ "$name" = direct ]; then
		measure_stream direct 1
		measure_stream direct 8
		measure_rate direct
		return
	fi
	for t in idle stream1 stream8 rate; do
		start_proxy "$name" || {
			say "    skipped: ${NOTE[$name]}"
			return
		}
		pid=$STARTED
		case $t in
		idle)
			measure_idle "$name" "$pid" "$IDLE_N" idle
			[ "$name" = socks46 ] && measure_max "$pid"
			;;
		stream1) measure_stream "$name" 1 ;;
		stream8) measure_stream "$name" 8 ;;
		rate) measure_rate "$name" "$pid" ;;
		esac
		kill_tree "$pid"
	done
}

measure_max()
{
	if [ "$MAX_N" -le "$FD_CAP" ]; then
		measure_idle socks46 "$1" "$MAX_N" max
		return
	fi
	NOTE[max]="$MAX_N concurrent not measurable here: the proxy needs $((2 * MAX_N + 64)) descriptors, RLIMIT_NOFILE is $NOFILE and cannot be raised"
	say "    ${NOTE[max]}"
}

# ratio A B: A/B with two decimals, or "-".
ratio()
{
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) print "-"
		else if (a / b < 0.1 && a > 0) printf "%.4fx", a / b
		else printf "%.2fx", a / b }'
}

NAMES=()
for n in direct socks46 dante microsocks; do
	case " $ONLY " in *" $n "*) NAMES+=("$n") ;; esac
done

row()
{
	local label=$1 metric=$2 n v
	printf '%-28s' "$label"
	for n in "${NAMES[@]}"; do
		v=${R[$n:$metric]:-}
		printf ' %12s' "${v:--}"
	done
	printf '\n'
}

ratio_row()
{
	local label=$1 metric=$2 base=$3 n
	[ -n "${R[$base:$metric]:-}" ] || return 0
	printf '%-28s' "  vs $base"
	for n in "${NAMES[@]}"; do
		printf ' %12s' "$(ratio "${R[$n:$metric]:-}" "${R[$base:$metric]}")"
	done
	printf '\n'
}

target()
{
	local what=$1 ok=$2
	printf '  %-62s %s\n' "$what" "$ok"
}

verdict()
{
	awk -v v="${1:-}" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "" || v == "-") { print "NOT MEASURED"; exit }
		x = v + 0
		ok = (op == ">=") ? x >= t : x <= t
		print ok ? "met" : "MISSED" }'
}

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
	bench_one "$n"
done

printf '\nsocks46 benchmark — loopback in a private network namespace, %s CPU cores shared by\n' \
	"$(nproc)"
printf 'the load generator (one epoll thread), the proxy and the sink server (one epoll thread).\n'
printf 'Best of %s runs of %s s per throughput and rate figure. Rate: %s connections in flight,\n' \
	"$RUNS" "$DUR" "$RATE_CONC"
printf 'each a SOCKS5 CONNECT, a 16-byte request, a 64-byte response and close; latency is\n'
printf 'connect() to the first response byte. Every test starts a fresh proxy.\n'
printf 'Load average before / after: %s / %s (other work on the machine skews the figures).\n\n' \
	"$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s' ""
for n in "${NAMES[@]}"; do printf ' %12s' "$n"; done
printf '\n'
row "1 stream (Gbit/s)" gbps1
ratio_row "1 stream (Gbit/s)" gbps1 direct
ratio_row "1 stream (Gbit/s)" gbps1 dante
row "  errors (stalls)" gbps1_err
row "8 streams (Gbit/s)" gbps8
ratio_row "8 streams (Gbit/s)" gbps8 direct
ratio_row "8 streams (Gbit/s)" gbps8 dante
row "  errors (stalls)" gbps8_err
row "connections/s" cps
ratio_row "connections/s" cps direct
ratio_row "connections/s" cps dante
row "  latency p50 (us)" p50
row "  latency p99 (us)" p99
row "  errors" rate_err
row "  proxy CPU per conn (us)" cpu_us
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
for n in "${NAMES[@]}"; do
	[ -n "${NOTE[$n]:-}" ] && printf 'note: %s %s\n' "$n" "${NOTE[$n]}"
done
[ -n "$LIMIT_NOTE" ] && printf 'note: %s\n' "$LIMIT_NOTE"
[ -n "${NOTE[max]:-}" ] && printf 'note: %s\n' "${NOTE[max]}"

printf '\nissue targets (socks46):\n'
target "single stream >= 0.8x direct ($(ratio "${R[socks46:gbps1]:-}" "${R[direct:gbps1]:-}"))" \
	"$(verdict "$(ratio "${R[socks46:gbps1]:-}" "${R[direct:gbps1]:-}" | tr -d x)" '>=' 0.8)"
target "connection rate >= 3x Dante ($(ratio "${R[socks46:cps]:-}" "${R[dante:cps]:-}"))" \
	"$(verdict "$(ratio "${R[socks46:cps]:-}" "${R[dante:cps]:-}" | tr -d x)" '>=' 3)"
target "<= 4096 bytes per idle relayed connection (${R[socks46:idle.bpc]:--})" \
	"$(verdict "${R[socks46:idle.bpc]:-}" '<=' 4096)"
max_ok="NOT MEASURED"
if [ -n "${R[socks46:max.ok]:-}" ]; then
	if [ "${R[socks46:max.ok]}" = "$MAX_N" ] && [ "${R[socks46:max.err]}" = 0 ]; then
		max_ok=met
	else
		max_ok=MISSED
	fi
fi
target "$MAX_N concurrent relayed connections without an error" "$max_ok"
printf '\n(Pss counts the proxy processes'"'"' memory, not kernel socket buffers; bench ran %ss.)\n' \
	$(($(date +%s) - START))
exit 0
