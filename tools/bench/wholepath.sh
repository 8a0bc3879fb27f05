#!/bin/bash
# wholepath.sh — the whole socks46 path (a program in a cgroup -> BPF -> agent -> gateway -> server) beside the direct path, two plain TCP relays and proxychains4 + Dante.
#
# The socks46 path runs twice, side by side in each round: "socks46" with the agent's relay
# (the default) and "fastpath" with a second agent on its own cgroup started with --fast-path
# (the kernel moves the bytes after the handshake), both through the same gateway.
# "handoff" is a third agent, on a third cgroup, started with --handoff: it passes each
# connection itself to the gateway over a Unix socket (one TCP connection and one relay less).
# "relays" is the floor under the first two: the same three TCP connections and two relaying processes
# with nothing else (two HAProxy in series, TCP mode, one thread each, splice; no SOCKS5, no
# BPF, no DNS).
# TCP (stream, connection rate), then UDP (tools/bench/udp.sh: datagrams/s and loss).
# Run by tools/bench.sh from the host's mount namespace with NS naming the bench's network
# namespace: the agent needs the cgroup2 mount that `ip netns exec` hides, so every process
# enters the namespace with nsenter. The load generator resolves the server's name with
# getaddrinfo, as an unmodified program does: in the test cgroup the BPF programs send that
# query to the agent, which answers a fake address, and the connect() to it goes through the
# agent to the gateway, which resolves the name (dnsmasq here) and connects. proxychains4
# hooks the same getaddrinfo and connect in libc and hands the name to Dante.
set -u

REPO=$(cd "$(dirname "$0")/../.." && pwd)
: "${NS:?NS must name the bench network namespace}"
S46_BIN=${S46_BIN:-$REPO/build/socks46}
S46_TOOLS=${S46_TOOLS:-$REPO/build/tools}
DUR=${BENCH_DURATION:-2}
RATE_CONC=${BENCH_CONC:-32}
RUNS=${BENCH_RUNS:-3}
IDLE_N=${BENCH_WHOLE_IDLE:-5000}
NAME=sink.bench
SINK_PORT=7000
declare -A PORT=([gateway]=7001 [dante]=7002 [relays]=7005 [relays2]=7006)
NSX=(nsenter --net="/run/netns/$NS")
TMP=$(mktemp -d /tmp/s46whole.XXXXXX)
PIDS=()
CG=
CGF=
CGH=
# shellcheck source=tools/bench/lib.sh
. "$REPO/tools/bench/lib.sh"
# shellcheck source=tools/bench/udp.sh
. "$REPO/tools/bench/udp.sh"

cleanup()
{
	kill_spawned
	for cg in "$CG" "$CGF" "$CGH"; do
		[ -n "$cg" ] && [ -d "$cg" ] || continue
		[ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill" 2>/dev/null
		for _ in $(seq 50); do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.05
		done
	done
	rm -rf "/etc/netns/$NS" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)"
PROXY_NOFILE=$(ulimit -n)

# cg_root: the cgroup2 mount (here /sys/fs/cgroup/unified, not always /sys/fs/cgroup).
cg_root()
{
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break;
		if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}

# client NAME: the s46bench command line along NAME's path.
client()
{
	VIA=(--target "$NAME:$SINK_PORT")
	case $1 in
	direct)
		CLIENT=("${NSX[@]}" "$S46_TOOLS/s46bench")
		VIA=(--target "127.0.0.1:$SINK_PORT")
		;;
	socks46 | fastpath | handoff)
		# Joins the test cgroup before exec, so the cgroup owns every socket it makes.
		# shellcheck disable=SC2016
		CLIENT=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"'
			"$(case $1 in fastpath) echo "$CGF" ;; handoff) echo "$CGH" ;; *) echo "$CG" ;; esac)"
			"${NSX[@]}" "$S46_TOOLS/s46bench")
		;;
	relays)
		CLIENT=("${NSX[@]}" "$S46_TOOLS/s46bench")
		VIA=(--target "127.0.0.1:${PORT[relays]}")
		;;
	proxychains)
		CLIENT=("${NSX[@]}" proxychains4 -q -f "$TMP/proxychains4.conf" "$S46_TOOLS/s46bench")
		;;
	esac
}

skip_all()
{
	say "whole path: skipped: $*"
	printf '\nwhole path: not measured: %s\n' "$*"
	exit 0
}

whole_setup()
{
	local root
	[ -x "$S46_BIN" ] || skip_all "$S46_BIN not built"
	for t in dnsmasq danted proxychains4 nsenter; do
		command -v $t >/dev/null || skip_all "$t not installed"
	done
	root=$(cg_root)
	[ -n "$root" ] || skip_all "no cgroup2 mount"
	CG=$root/s46bench$$
	mkdir "$CG" || skip_all "cannot create cgroup $CG"
	CGF=$root/s46benchf$$
	mkdir "$CGF" || skip_all "cannot create cgroup $CGF"
	CGH=$root/s46benchh$$
	mkdir "$CGH" || skip_all "cannot create cgroup $CGH"
	# Dante resolves with libc, which `ip netns exec` points at these files: the same
	# dnsmasq as the gateway's. The load generator runs with the host's /etc, where the
	# name does not exist: only the agent (or proxychains) can make it resolve.
	mkdir -p "/etc/netns/$NS"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"/etc/netns/$NS/resolv.conf"
	printf '127.0.0.1 localhost\n' >"/etc/netns/$NS/hosts"

	"${NSX[@]}" "$S46_TOOLS/s46sink" --listen 127.0.0.1:$SINK_PORT --udp 127.0.0.1:$SINK_PORT >"$TMP/sink.log" 2>&1 &
	PIDS+=($!)
	wait_listen $SINK_PORT $! || skip_all "s46sink did not start"
	# The resolver of the gateway and of Dante: the name has an A record only. --local makes
	# dnsmasq the zone's server, so AAAA gets "no data" (cached by the gateway like any real
	# zone's answer), not REFUSED for want of an upstream (asked again on every connection).
	"${NSX[@]}" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
		--listen-address=127.0.0.1 --port=53 --user=root --pid-file="$TMP/dnsmasq.pid" \
		--local=/"${NAME#*.}"/ --host-record="$NAME,127.0.0.1" >"$TMP/dnsmasq.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		"${NSX[@]}" ss -Hlun "sport = :53" | grep -q . && break
		sleep 0.1
	done
}

start_gateway()
{
	PORT[socks46]=${PORT[gateway]}
	# shellcheck disable=SC2086
	start socks46 "$TMP/gateway.log" "${NSX[@]}" "$S46_BIN" gateway \
		--listen 127.0.0.1:"${PORT[gateway]}" --dns-server 127.0.0.1 --handoff "$TMP/gw-handoff.sock" \
		${BENCH_GATEWAY_ARGS:---log-level warn}
	local rc=$?
	GW_PID=$STARTED
	return $rc
}

# start_agent NAME CGROUP PORT [ARGS...]: an agent for CGROUP, proxy on PORT, DNS on PORT+7.
start_agent()
{
	local name=$1 cg=$2 port=$3
	shift 3
	"${NSX[@]}" "$S46_BIN" agent --gateway 127.0.0.1:"${PORT[gateway]}" --cgroup "$cg" \
		--control "$TMP/$name.sock" --no-pin --fake-state "$TMP/$name.state" \
		--dns-upstream 127.0.0.1 --proxy-port "$port" --dns-port $((port + 7)) \
		--log-level warn "$@" >"$TMP/$name.log" 2>&1 </dev/null &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	for _ in $(seq 100); do
		[ -S "$TMP/$name.sock" ] && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	NOTE[$name]="agent did not start: $(tail -n 2 "$TMP/$name.log" | tr '\n' ' ' | cut -c1-160)"
	return 1
}

# The fast path's agent; its UDP forwarder's fixed port is the first agent's (UDP is not
# measured through it). A kernel that refuses the fast path leaves the column empty.
start_fast_agent()
{
	start_agent fastpath "$CGF" 7047 --fast-path || return 1
	FAST_PID=$AGENT_PID
	if grep -q "fast path refused" "$TMP/fastpath.log"; then
		NOTE[fastpath]=$(grep -o "fast path refused.*" "$TMP/fastpath.log" | cut -c1-200)
		return 1
	fi
}

start_dante()
{
	PORT[proxychains]=${PORT[dante]}
	sed "s/@PORT@/${PORT[dante]}/" "$REPO/tools/bench/danted.conf.in" >"$TMP/danted.conf"
	sed "s/@PORT@/${PORT[dante]}/" "$REPO/tools/bench/proxychains4.conf.in" \
		>"$TMP/proxychains4.conf"
	start proxychains "$TMP/dante.log" ip netns exec "$NS" danted -f "$TMP/danted.conf"
}

# start_relays: two HAProxy in series in front of the sink; the first one's pid in STARTED,
# both in RELAY_PIDS. Without haproxy the column stays empty.
start_relays()
{
	local first
	if ! command -v haproxy >/dev/null; then
		NOTE[relays]="haproxy not installed"
		return 1
	fi
	haproxy_conf "${PORT[relays2]}" $SINK_PORT >"$TMP/haproxy2.cfg"
	haproxy_conf "${PORT[relays]}" "${PORT[relays2]}" >"$TMP/haproxy1.cfg"
	start relays2 "$TMP/haproxy2.log" "${NSX[@]}" haproxy -db -f "$TMP/haproxy2.cfg" || {
		NOTE[relays]=${NOTE[relays2]}
		return 1
	}
	first=$STARTED
	start relays "$TMP/haproxy1.log" "${NSX[@]}" haproxy -db -f "$TMP/haproxy1.cfg" || return 1
	RELAY_PIDS="$STARTED $first"
}

# whole_test TEST: one run per path per round (see lib.sh).
whole_test()
{
	local t=$1 n
	say "== whole path: $t"
	for _ in $(seq "$RUNS"); do
		for n in "${LIVE[@]}"; do
			case $t in
			stream1) stream_run "$n" 1 "${CPU_PIDS[$n]:-}" ;;
			stream8) stream_run "$n" 8 "${CPU_PIDS[$n]:-}" ;;
			rate) rate_run "$n" "${CPU_PIDS[$n]:-}" "$RATE_CONC" "" ;;
			rate1) rate_run "$n" "${CPU_PIDS[$n]:-}" 1 _1 ;;
			esac
		done
	done
}

# whole_idle: IDLE_N connections held open through the (userspace relay's) agent and the
# gateway at once; the memory each spends per connection (Pss growth over those held).
whole_idle()
{
	local ab gb aa='' ga='' line v bp
	say "== whole path: $IDLE_N idle connections"
	ab=$(mem_kb "$SOCKS_PID")
	gb=$(mem_kb "$GW_PID")
	client socks46
	rm -f "$TMP/ready.idle"
	"${CLIENT[@]}" idle --count "$IDLE_N" --conc 256 --ready-file "$TMP/ready.idle" --hold 300 \
		--timeout 300 "${VIA[@]}" >"$TMP/idle.out" 2>"$TMP/idle.err" &
	bp=$!
	PIDS+=("$bp")
	for _ in $(seq 1200); do
		[ -s "$TMP/ready.idle" ] && break
		kill -0 "$bp" 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$TMP/ready.idle" ]; then
		sleep 1 # let the processes settle what they allocate per connection
		aa=$(mem_kb "$SOCKS_PID")
		ga=$(mem_kb "$GW_PID")
	fi
	kill -USR1 "$bp" 2>/dev/null
	wait "$bp"
	line=$(grep idle-verify "$TMP/idle.out")
	say "    $(grep 'mode=idle ' "$TMP/idle.out") $line $(head -c 300 "$TMP/idle.err")"
	v=$(kv "$line" verified)
	R[socks46:idle.ok]=${v:-0}
	if [ -n "$line" ]; then
		R[socks46:idle.err]=$(($(kv "$line" errors) + $(kv "$line" dropped) + $(kv "$line" failed)))
	else
		R[socks46:idle.err]=1
	fi
	if [ -n "$aa" ] && [ "${v:-0}" -gt 0 ]; then
		R[socks46:idle.bpc_agent]=$(((aa - ab) * 1024 / v))
		R[socks46:idle.bpc_gateway]=$(((ga - gb) * 1024 / v))
	fi
}

whole_setup
NAMES=(direct socks46 fastpath handoff relays proxychains)
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
LIVE=(direct)
# The processes whose CPU time a path costs: agent and gateway, or Dante.
declare -A CPU_PIDS=()
if start_gateway && start_agent socks46 "$CG" 7046; then
	LIVE+=(socks46)
	SOCKS_PID=$AGENT_PID
	CPU_PIDS[socks46]="$GW_PID $SOCKS_PID"
	CPU_SPLIT[socks46]="agent:$SOCKS_PID gateway:$GW_PID"
	if start_agent handoff "$CGH" 7048 --handoff "$TMP/gw-handoff.sock"; then
		LIVE+=(handoff)
		CPU_PIDS[handoff]="$GW_PID $AGENT_PID"
		CPU_SPLIT[handoff]="agent:$AGENT_PID gateway:$GW_PID"
	else
		say "whole path: handoff skipped: ${NOTE[handoff]}"
	fi
	if start_fast_agent; then
		LIVE+=(fastpath)
		CPU_PIDS[fastpath]="$GW_PID $FAST_PID"
		CPU_SPLIT[fastpath]="agent:$FAST_PID gateway:$GW_PID"
	else
		say "whole path: fastpath skipped: ${NOTE[fastpath]}"
	fi
else
	say "whole path: socks46 skipped: ${NOTE[socks46]}"
fi
if start_relays; then
	LIVE+=(relays)
	CPU_PIDS[relays]=$RELAY_PIDS
else
	say "whole path: relays skipped: ${NOTE[relays]}"
fi
if start_dante; then
	LIVE+=(proxychains)
	CPU_PIDS[proxychains]=$STARTED
else
	say "whole path: proxychains skipped: ${NOTE[proxychains]}"
fi
if [ "${BENCH_WHOLE_TCP:-1}" != 0 ]; then
	for t in stream1 stream8 rate rate1; do
		whole_test $t
	done
	# The descriptor limit bounds the count: the agent and the gateway hold two per connection.
	cap=$(((PROXY_NOFILE - 200) / 2 / 100 * 100))
	[ "$IDLE_N" -gt "$cap" ] && IDLE_N=$cap
	case " ${LIVE[*]} " in *" socks46 "*) [ "$IDLE_N" -gt 0 ] && whole_idle ;; esac
fi
# UDP goes through the first agent only (the fast path and the relays are TCP's).
TCP_LIVE=("${LIVE[@]}")
LIVE=()
for n in "${TCP_LIVE[@]}"; do
	[ "$n" = fastpath ] || [ "$n" = relays ] || [ "$n" = handoff ] || LIVE+=("$n")
done
[ "${BENCH_UDP:-1}" = 0 ] || udp_tests
LIVE=("${TCP_LIVE[@]}")
# Proof that the socks46 figures came through the agent, not around it.
AGENT_SAYS=
if [ -S "$TMP/fastpath.sock" ]; then
	FAST_SAYS=$("$S46_BIN" status --json --control "$TMP/fastpath.sock" 2>/dev/null |
		grep -o '"forwarded":[0-9]*' | cut -d: -f2)
fi
if [ -S "$TMP/handoff.sock" ]; then
	HAND_SAYS=$("$S46_BIN" status --json --control "$TMP/handoff.sock" 2>/dev/null |
		grep -o '"handed_off":[0-9]*' | cut -d: -f2)
fi
if [ -S "$TMP/socks46.sock" ]; then
	st=$("$S46_BIN" status --json --control "$TMP/socks46.sock" 2>/dev/null)
	AGENT_SAYS="the agent forwarded $(printf '%s' "$st" | grep -o '"forwarded":[0-9]*' | cut -d: -f2) connections to the gateway and faked $(printf '%s' "$st" | grep -o '"dns_faked":[0-9]*' | cut -d: -f2) DNS answers"
	AGENT_SAYS+=", and carried UDP datagrams up $(printf '%s' "$st" | grep -o '"udp":{[^}]*' | grep -o '"up":[0-9]*' | cut -d: -f2), down $(printf '%s' "$st" | grep -o '"udp":{[^}]*' | grep -o '"down":[0-9]*' | cut -d: -f2) in $(printf '%s' "$st" | grep -o '"udp":{[^}]*' | grep -o '"flows":[0-9]*' | cut -d: -f2) flows"
fi

printf '\nwhole path — a program in a test cgroup resolves %s with getaddrinfo and connects:\n' "$NAME"
printf '  socks46:     cgroup BPF -> agent (fake address) -> gateway (resolves via dnsmasq) -> sink\n'
printf '  fastpath:    the same with the agent started with --fast-path: after the handshake the\n'
printf '               kernel moves the bytes between program and gateway connection (sockmap);\n'
printf '               its CPU rows leave out the kernel'"'"'s share (softirq in the sender, the\n'
printf '               psock kworker), and the kernel queues what the sink has not taken yet\n'
printf '               without a bound (no backpressure: see the README)\n'
printf '  handoff:     the same with the agent started with --handoff: it passes the program'"'"'s\n'
printf '               connection itself to the gateway (SCM_RIGHTS on a Unix socket), which\n'
printf '               relays it to the sink: two TCP connections and one relay, not three and two\n'
printf '  relays:      the same program to 127.0.0.1 through two HAProxy in series (TCP mode,\n'
printf '               splice, one thread each): the TCP connections and relays of the socks46\n'
printf '               path and nothing else, the floor under it\n'
printf '  proxychains: proxychains4 (LD_PRELOAD, proxy_dns) -> Dante (libc, the same dnsmasq) -> sink\n'
printf '  direct:      the same program straight to 127.0.0.1.\n'
printf 'Same namespace, cores and s46sink as above. Load average before / after: %s / %s\n\n' \
	"$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s' ""
for n in "${NAMES[@]}"; do printf ' %12s' "$n"; done
printf '\n'
row "1 stream (Gbit/s)" gbps1
ratio_row "1 stream (Gbit/s)" gbps1 direct
rounds_row gbps1 direct
row "  errors (stalls)" gbps1_err
ratio_row "1 stream (Gbit/s)" gbps1 socks46
ratio_row "1 stream (Gbit/s)" gbps1 relays
row "  relay CPU (ms per GB)" cpg1
row "    agent" cpg1_agent
row "    gateway" cpg1_gateway
row "8 streams (Gbit/s)" gbps8
ratio_row "8 streams (Gbit/s)" gbps8 direct
rounds_row gbps8 direct
ratio_row "8 streams (Gbit/s)" gbps8 socks46
ratio_row "8 streams (Gbit/s)" gbps8 relays
row "  errors (stalls)" gbps8_err
row "  relay CPU (ms per GB)" cpg8
row "    agent" cpg8_agent
row "    gateway" cpg8_gateway
row "conn/s, $RATE_CONC in flight" cps
ratio_row "conn/s" cps direct
rounds_row cps direct
ratio_row "conn/s" cps socks46
ratio_row "conn/s" cps relays
ratio_row "conn/s" cps proxychains
row "  latency p50 (us)" p50
row "  latency p99 (us)" p99
row "  errors" rate_err
row "  relay CPU per conn (us)" cpu_us
row "    agent" cpu_us_agent
row "    gateway" cpu_us_gateway
row "conn/s, 1 in flight" cps_1
ratio_row "conn/s" cps_1 direct
ratio_row "conn/s" cps_1 proxychains
rounds_row cps_1 proxychains
row "  latency p50 (us)" p50_1
row "  latency p99 (us)" p99_1
row "  errors" rate_err_1
row "idle conns held ($IDLE_N)" idle.ok
row "  errors" idle.err
row "  agent bytes per conn" idle.bpc_agent
row "  gateway bytes per conn" idle.bpc_gateway
[ "${BENCH_UDP:-1}" = 0 ] || udp_table
for n in "${NAMES[@]}"; do
	[ -n "${NOTE[$n]:-}" ] && printf 'note: %s %s\n' "$n" "${NOTE[$n]}"
done
[ -n "$AGENT_SAYS" ] && printf 'socks46: %s.\n' "$AGENT_SAYS"
[ -n "${HAND_SAYS:-}" ] && printf 'handoff: the agent handed %s connections to the gateway.\n' "$HAND_SAYS"
[ -n "${FAST_SAYS:-}" ] && printf 'fastpath: the agent forwarded %s connections, their bytes moved by the kernel.\n' "$FAST_SAYS"
printf '(proxychains makes the non-blocking connect() blocking while it talks to the proxy, so\n'
printf ' the program'"'"'s connections go through one at a time whatever it has in flight.)\n'

printf '\nissue targets (whole path):\n'
target "<= 1024 bytes per relayed connection in the agent (${R[socks46:idle.bpc_agent]:--})" \
	"$(verdict "${R[socks46:idle.bpc_agent]:-}" '<=' 1024)"
target "conn/s above proxychains4 + Dante, $RATE_CONC in flight ($(ratio "${R[socks46:cps]:-}" "${R[proxychains:cps]:-}"); rounds: $(round_ratios socks46 proxychains cps))" \
	"$(verdict "$(ratio "${R[socks46:cps]:-}" "${R[proxychains:cps]:-}" | tr -d x)" '>=' 1.0001)"
target "conn/s above proxychains4 + Dante, 1 in flight ($(ratio "${R[socks46:cps_1]:-}" "${R[proxychains:cps_1]:-}"))" \
	"$(verdict "$(ratio "${R[socks46:cps_1]:-}" "${R[proxychains:cps_1]:-}" | tr -d x)" '>=' 1.0001)"
for p in socks46 fastpath handoff; do
	target "$p single stream >= 0.7x direct ($(ratio "${R[$p:gbps1]:-}" "${R[direct:gbps1]:-}"); rounds: $(round_ratios $p direct gbps1))" \
		"$(verdict "$(ratio "${R[$p:gbps1]:-}" "${R[direct:gbps1]:-}" | tr -d x)" '>=' 0.7)"
	target "$p 8 streams >= 0.7x direct ($(ratio "${R[$p:gbps8]:-}" "${R[direct:gbps8]:-}"); rounds: $(round_ratios $p direct gbps8))" \
		"$(verdict "$(ratio "${R[$p:gbps8]:-}" "${R[direct:gbps8]:-}" | tr -d x)" '>=' 0.7)"
	target "$p conn/s >= 0.5x direct, $RATE_CONC in flight, p99 ${R[$p:p99]:--} us ($(ratio "${R[$p:cps]:-}" "${R[direct:cps]:-}"); rounds: $(round_ratios $p direct cps))" \
		"$(verdict "$(ratio "${R[$p:cps]:-}" "${R[direct:cps]:-}" | tr -d x)" '>=' 0.5)"
done
[ -n "${R[relays:gbps1]:-}" ] &&
	printf '  %-84s %s\n' "the floor, two plain relays (HAProxy) vs direct: 1 stream $(ratio "${R[relays:gbps1]:-}" "${R[direct:gbps1]:-}"), 8 streams $(ratio "${R[relays:gbps8]:-}" "${R[direct:gbps8]:-}"), conn/s $(ratio "${R[relays:cps]:-}" "${R[direct:cps]:-}")" reference
[ "${BENCH_UDP:-1}" = 0 ] || udp_targets
cpu_note "connection (us)" "${R[socks46:cpu_us]:-}" "${R[proxychains:cpu_us]:-}" "proxychains4 + Dante"
cpu_note "GB relayed (ms)" "${R[socks46:cpg1]:-}" "${R[proxychains:cpg1]:-}" "proxychains4 + Dante"
printf '(whole path ran %ss)\n' $(($(date +%s) - START))
exit 0
