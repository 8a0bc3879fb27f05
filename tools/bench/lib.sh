# lib.sh — what both halves of the benchmark share: process trees, memory and CPU of a proxy,
# s46bench runs (best of BENCH_RUNS), and the result table. Sourced by tools/bench.sh and
# tools/bench/wholepath.sh, which set TMP, PIDS, RUNS, DUR, RATE_CONC, PROXY_NOFILE, NSX (the
# prefix that runs a command in the bench namespace), PORT, and define client NAME (sets the
# CLIENT and VIA arrays: the s46bench command line for NAME's path).
# shellcheck shell=bash

# shellcheck disable=SC2034 # both are read by the scripts that source this file
declare -A R    # R[name:metric] = value
# shellcheck disable=SC2034
declare -A NOTE # why a column is empty
# CPU_SPLIT[name]="label:pid ...": the processes of a path whose CPU time is also shown apart
# (the whole path's agent and gateway), as R[name:METRIC_label].
declare -A CPU_SPLIT

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

# kill_spawned: stops every process tree recorded in PIDS and reaps them.
kill_spawned()
{
	local p
	for p in "${PIDS[@]}"; do
		kill_tree "$p"
	done
	wait 2>/dev/null
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

# split_snap NAME: "label:ticks ..." for each process of CPU_SPLIT[NAME] (empty without).
split_snap()
{
	local part out=''
	for part in ${CPU_SPLIT[$1]:-}; do
		out+="${part%%:*}:$(cpu_ticks "${part#*:}") "
	done
	printf '%s' "$out"
}

# split_add NAME SNAP KEY UNITS DIV: adds each part's ticks since SNAP to R[NAME:KEY.ticks_label]
# and sets R[NAME:KEY_label] = ticks * UNITS / DIV (the caller's running total of DIV).
split_add()
{
	local name=$1 snap=$2 key=$3 units=$4 div=$5 part label t0 tk
	for part in $snap; do
		label=${part%%:*}
		t0=${part#*:}
		for p in ${CPU_SPLIT[$name]}; do
			[ "${p%%:*}" = "$label" ] || continue
			tk=$((${R[$name:$key.ticks_$label]:-0} + $(cpu_ticks "${p#*:}") - t0))
			R[$name:$key.ticks_$label]=$tk
			[ "$div" -gt 0 ] && R[$name:${key}_$label]=$((tk * units / div))
		done
	done
}

# cpu_ticks PID...: user+system clock ticks of the PIDs' trees (exited children in cutime).
cpu_ticks()
{
	local p sum=0 v
	for p in $(for r in "$@"; do tree "$r"; done); do
		v=$(awk '{print $14 + $15 + $16 + $17}' /proc/"$p"/stat 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

wait_listen()
{
	local port=$1 pid=$2
	for _ in $(seq 50); do
		"${NSX[@]}" ss -Hltn "sport = :$port" | grep -q . && return 0
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
		ulimit -n "$PROXY_NOFILE"
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

# haproxy_conf PORT NEXT: HAProxy relaying 127.0.0.1:PORT to 127.0.0.1:NEXT, as many
# connections as the proxies' descriptor limit allows (HAProxy asks for about 2.5
# descriptors per connection).
haproxy_conf()
{
	sed -e "s/@PORT@/$1/" -e "s/@NEXT@/$2/" -e "s/@MAXCONN@/$(((PROXY_NOFILE - 200) / 3))/" \
		"$REPO/tools/bench/haproxy.cfg.in"
}

# run_bench NAME MODE ARGS...: one s46bench run along NAME's path; prints its result line.
run_bench()
{
	local out
	client "$1"
	shift
	out=$("${CLIENT[@]}" "$@" "${VIA[@]}" 2>"$TMP/bench.err")
	[ -s "$TMP/bench.err" ] && say "    $(head -c 300 "$TMP/bench.err")"
	printf '%s' "$out"
}

# better A B: true if A is a larger number than B (B may be empty).
better() { awk -v a="${1:-0}" -v b="${2:-}" 'BEGIN { exit !(b == "" || a + 0 > b + 0) }'; }

# Throughput and rate keep the best of BENCH_RUNS runs: the cores are shared with whatever
# else the machine runs, and a disturbed run only ever looks slower. The callers go round
# the paths once per run, so every path sees the same stretches of the machine's load.

# stream_run NAME N [PID]: one throughput run with N streams; the best clean run is
# R[NAME:gbpsN]. With PID, the proxy's CPU time per GB moved is added up (cpgN, ms/GB):
# unlike Gbit/s it hardly moves with the machine's other load.
stream_run()
{
	local name=$1 n=$2 pid=${3:-} line e t0='' b tk by snap
	# A relay that stalled once stalls again: do not wait out the time limit every round.
	[ "${R[$name:gbps${n}_err]:-0}" = 0 ] || return 0
	# shellcheck disable=SC2086 # PID may be a list: a path through two processes
	[ -n "$pid" ] && t0=$(cpu_ticks $pid)
	snap=$(split_snap "$name")
	line=$(run_bench "$name" stream --conc "$n" --duration "$DUR" --timeout $((DUR + 15)))
	say "    $name stream x$n: $line"
	e=$(kv "$line" errors)
	R[$name:gbps${n}_err]=$((${R[$name:gbps${n}_err]:-0} + ${e:-1}))
	# A run with an error (a stalled relay) has no throughput figure.
	local g=-
	[ "${e:-1}" = 0 ] && g=$(kv "$line" gbps)
	R[$name:gbps${n}_runs]="${R[$name:gbps${n}_runs]:-} ${g:--}"
	if [ "${e:-1}" = 0 ] && better "$(kv "$line" gbps)" "${R[$name:gbps$n]:-}"; then
		R[$name:gbps$n]=$(kv "$line" gbps)
	fi
	b=$(kv "$line" bytes)
	if [ -n "$t0" ] && [ "${b:-0}" -gt 0 ]; then
		# shellcheck disable=SC2086
		tk=$((${R[$name:sticks$n]:-0} + $(cpu_ticks $pid) - t0))
		by=$((${R[$name:sbytes$n]:-0} + b / 1000000))
		R[$name:sticks$n]=$tk
		R[$name:sbytes$n]=$by
		# Ticks are 10 ms; bytes counted in MB: milliseconds per GB.
		[ "$by" -gt 0 ] && R[$name:cpg$n]=$((tk * 10 * 1000 / by))
		split_add "$name" "$snap" "cpg$n" 10000 "$by"
	fi
	return 0
}

# rate_run NAME PID CONC KEY: one connection-rate run; results under metric names + KEY.
# PID (may be empty) is the proxy whose CPU time per connection is added up.
rate_run()
{
	local name=$1 pid=$2 conc=$3 k=$4 line t0='' e c tk cn snap
	# shellcheck disable=SC2086
	[ -n "$pid" ] && t0=$(cpu_ticks $pid)
	snap=$(split_snap "$name")
	line=$(run_bench "$name" rate --conc "$conc" --duration "$DUR" --timeout $((DUR + 30)))
	say "    $name rate x$conc: $line"
	e=$(kv "$line" errors)
	c=$(kv "$line" conns)
	R[$name:rate_err$k]=$((${R[$name:rate_err$k]:-0} + ${e:-1}))
	c=${c:-0}
	local v
	v=$(kv "$line" cps)
	R[$name:cps${k}_runs]="${R[$name:cps${k}_runs]:-} ${v:--}"
	if better "$(kv "$line" cps)" "${R[$name:cps$k]:-}"; then
		R[$name:cps$k]=$(kv "$line" cps)
		R[$name:p50$k]=$(kv "$line" p50_us)
		R[$name:p99$k]=$(kv "$line" p99_us)
	fi
	if [ -n "$t0" ] && [ "${c:-0}" -gt 0 ]; then
		# shellcheck disable=SC2086
		tk=$((${R[$name:ticks$k]:-0} + $(cpu_ticks $pid) - t0))
		cn=$((${R[$name:conns$k]:-0} + c))
		R[$name:ticks$k]=$tk
		R[$name:conns$k]=$cn
		# Clock ticks are 1/100 s: microseconds of proxy CPU per connection.
		R[$name:cpu_us$k]=$((tk * 10000 / cn))
		split_add "$name" "$snap" "cpu_us$k" 10000 "$cn"
	fi
	return 0
}

# measure_idle NAME PID COUNT KEY [PARTS]: holds COUNT relayed connections, records memory
# and errors. PARTS load generators share the count when one process may not hold it all;
# generator I (from 0) talks to the sink on SINK_PORT + 10 * I, which the caller provides.
measure_idle()
{
	local name=$1 pid=$2 n=$3 key=$4 parts=${5:-1} before after i p line bpids=() all=
	local est=0 errs=0 v
	before=$(mem_kb "$pid")
	client "$name"
	for ((p = 0; p < parts; p++)); do
		rm -f "$TMP/ready.$key.$p"
		"${CLIENT[@]}" idle --count $(((n + p) / parts)) --conc 256 \
			--ready-file "$TMP/ready.$key.$p" --hold 300 --timeout 300 "${VIA[@]}" \
			--target 127.0.0.1:$((SINK_PORT + 10 * p)) >"$TMP/idle.$p.out" \
			2>"$TMP/idle.$p.err" &
		bpids+=($!)
		PIDS+=($!)
	done
	for i in $(seq 1200); do
		all=1
		for ((p = 0; p < parts; p++)); do
			[ -s "$TMP/ready.$key.$p" ] && continue
			all=
			kill -0 "${bpids[p]}" 2>/dev/null || break 2
		done
		[ -n "$all" ] && break
		sleep 0.1
	done
	after=
	if [ -n "$all" ]; then
		sleep 1 # let the proxy settle what it allocates per connection
		after=$(mem_kb "$pid")
		R[$name:$key.procs]=$(nprocs "$pid")
	else
		say "    idle $n: not all connections opened within $((i / 10)) s"
	fi
	kill -USR1 "${bpids[@]}" 2>/dev/null
	for ((p = 0; p < parts; p++)); do
		wait "${bpids[p]}"
		line=$(grep idle-verify "$TMP/idle.$p.out")
		say "    idle $n [$p]: $(grep 'mode=idle ' "$TMP/idle.$p.out") $line"
		[ -s "$TMP/idle.$p.err" ] && say "    $(head -c 300 "$TMP/idle.$p.err")"
		v=$(kv "$line" verified)
		est=$((est + ${v:-0}))
		errs=$((errs + $(kv "$line" errors) + $(kv "$line" dropped) + $(kv "$line" failed)))
		[ -n "$line" ] || errs=$((errs + 1))
	done
	R[$name:$key.ok]=$est
	R[$name:$key.err]=$errs
	if [ -n "$after" ] && [ "$est" -gt 0 ]; then
		R[$name:$key.kb_before]=$before
		R[$name:$key.kb_after]=$after
		R[$name:$key.bpc]=$(((after - before) * 1024 / est))
	fi
}

# ratio A B: A/B with two decimals, or "-".
ratio()
{
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) print "-"
		else if (a / b < 0.1 && a > 0) printf "%.4fx", a / b
		else printf "%.2fx", a / b }'
}

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

# rounds_row METRIC BASE: each column's figure over BASE's, round by round (the paths take
# turns, so each pair saw about the same load): how far the machine's load moved the ratio.
rounds_row()
{
	local metric=$1 base=$2 n
	[ -n "${R[$base:${metric}_runs]:-}" ] || return 0
	printf '%-28s' "  per round vs $base"
	for n in "${NAMES[@]}"; do
		if [ "$n" = "$base" ]; then
			printf ' %12s' ""
		else
			printf ' %12s' "$(round_ratios "$n" "$base" "$metric" | tr ' ' /)"
		fi
	done
	printf '\n'
}

target()
{
	local what=$1 ok=$2
	printf '  %-84s %s\n' "$what" "$ok"
}

# round_ratios A B METRIC: A's figure over B's, round by round (the paths take turns, so
# each pair saw about the same machine load); shows how much the load moved things.
round_ratios()
{
	awk -v a="${R[$1:${3}_runs]:-}" -v b="${R[$2:${3}_runs]:-}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); out = ""
		for (i = 1; i <= n; i++)
			out = out sprintf("%s%s", out == "" ? "" : " ",
				(x[i] == "-" || y[i] == "-" || y[i] + 0 == 0) ? "-" : sprintf("%.2f", x[i] / y[i]))
		print out }'
}

# cpu_note WHAT OURS THEIRS WHO: how socks46's CPU time per WHAT compares with WHO's.
cpu_note()
{
	[ -n "$2" ] && [ -n "$3" ] && [ "$2" -gt 0 ] || return 0
	awk -v w="$1" -v a="$2" -v b="$3" -v who="$4" 'BEGIN {
		printf "  CPU per %s: socks46 %s, %s %s: %.2fx its CPU -> %.1fx the rate on equal CPU\n",
			w, a, who, b, a / b, b / a }'
}

verdict()
{
	awk -v v="${1:-}" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "" || v == "-") { print "NOT MEASURED"; exit }
		x = v + 0
		ok = (op == ">=") ? x >= t : x <= t
		print ok ? "met" : "MISSED" }'
}

