#!/bin/sh
# vmguest.sh — runs in a QEMU guest (PID 1, started by vmtest/init): BENCH_MAX relayed connections held at once through one agent and one gateway process, under a descriptor limit the host does not grant.
# Writes two lines to result-max on the work share, "gateway ..." and "agent ...": the fields
# s46bench's idle-verify prints (summed over its two halves), each process's Pss and heap
# (kB) before and after, and its descriptor count; then powers off. PID 1 must never exit,
# so every path ends in vmguest_finish.
#
# One loopback 4-tuple has 55,536 ephemeral ports here: each run is split into an IPv4 and an IPv6 half, and
# the agent reaches the gateway on two addresses (round robin), so no tuple carries more than
# half. Through the agent, the program connects to 203.0.113.7 and 2001:db8::7 (on lo here,
# --via-gateway): the BPF programs send it to the agent, the agent to the gateway as an
# address, the gateway to the sink behind those addresses.
share=/run/s46-vmtest
. $share/env
out=/tmp/result

vmguest_finish()
{
	[ -n "$1" ] && echo "$1" >>$out
	cp $out $share/result-max
	sync
	busybox poweroff -f
	echo o >/proc/sysrq-trigger
	while :; do :; done
}

vmguest_listening()
{
	for _ in $(seq 100); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

vmguest_pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# The brk heap's resident size: where malloc puts what a connection allocates.
vmguest_heap() { awk '/\[heap\]/ {h = 1; next} h && /^Rss:/ {print $2; exit}' "/proc/$1/smaps"; }
vmguest_fds() { ls "/proc/$1/fd" | wc -l; }

# vmguest_idle TAG TARGET4 TARGET6 [--socks4 ADDR --socks6 ADDR] [cgroup]: opens BENCH_MAX
# connections in two halves, waits until both hold them all; the caller measures, then
# vmguest_verify ends them.
vmguest_idle()
{
	tag=$1 t4=$2 t6=$3 s4=$4 s6=$5 cg=$6
	half=$((BENCH_MAX / 2))
	for part in 4 6; do
		if [ $part = 4 ]; then t=$t4 s=$s4 n=$half; else t=$t6 s=$s6 n=$((BENCH_MAX - half)); fi
		rm -f /tmp/ready.$tag.$part
		# shellcheck disable=SC2086 # s is empty or "--socks ADDR"
		sh -c '[ -z "$0" ] || echo $$ >"$0/cgroup.procs" || exit 1; exec "$@"' "$cg" \
			"$S46_TOOLS/s46bench" idle --target "$t" $s --count $n --conc 256 \
			--ready-file /tmp/ready.$tag.$part --hold 600 --timeout "$BENCH_VM_SECS" \
			>/tmp/idle.$tag.$part 2>/tmp/idle.$tag.$part.err &
		eval "bench$part=\$!"
	done
	for _ in $(seq $((BENCH_VM_SECS * 10))); do
		[ -s /tmp/ready.$tag.4 ] && [ -s /tmp/ready.$tag.6 ] && return 0
		kill -0 "$bench4" 2>/dev/null || [ -s /tmp/ready.$tag.4 ] || return 1
		kill -0 "$bench6" 2>/dev/null || [ -s /tmp/ready.$tag.6 ] || return 1
		sleep 0.1
	done
	return 1
}

# vmguest_verify TAG: every connection still relays; the summed idle-verify fields go to
# /tmp/verify.TAG (not printed: a command substitution's subshell cannot wait for the halves).
vmguest_verify()
{
	kill -USR1 "$bench4" "$bench6" 2>/dev/null
	wait "$bench4" "$bench6"
	vmguest_sum "$1" >/tmp/verify."$1"
}

vmguest_sum()
{
	cat /tmp/idle.$1.4 /tmp/idle.$1.6 | awk '
		/mode=idle / { for (i = 1; i <= NF; i++) if ($i ~ /^secs=/) { split($i, kv, "="); if (kv[2] > osecs) osecs = kv[2] } }
		/mode=idle-verify/ { n++; for (i = 1; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
		END {
			if (n < 2) { print "error=no-result"; exit }
			printf "established=%d dropped=%d verified=%d failed=%d errors=%d open_secs=%s ",
				s["established"], s["dropped"], s["verified"], s["failed"], s["errors"], osecs }'
	cat /tmp/idle.$1.4.err /tmp/idle.$1.6.err 2>/dev/null | head -c 200 | tr '\n' ' '
}

: >$out
set -f # addresses such as [::1]:7001 are not file patterns
ip link set lo up
ip addr add 203.0.113.7/32 dev lo
ip addr add 2001:db8::7/128 dev lo nodad
# Root in the guest has CAP_SYS_RESOURCE: the limit the host could not raise.
# shellcheck disable=SC3045 # the guest's /bin/sh is the host's dash, which has ulimit -n
ulimit -n 1048576 || vmguest_finish "error=cannot-raise-RLIMIT_NOFILE"
# The listeners' ports (7000, 7001, 7046) stay below the ephemeral range.
sysctl -qw net.ipv4.ip_local_port_range="10000 65535" net.ipv4.tcp_tw_reuse=1 \
	net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 net.ipv4.tcp_max_tw_buckets=4096
cd /tmp || vmguest_finish "error=no-tmp"
"$S46_TOOLS/s46sink" --listen 0.0.0.0:7000 --listen '[::]:7000' >/tmp/sink.log 2>&1 &
# Opening 100,000 connections under TCG takes longer than the default idle timeout (300 s):
# the first ones would be closed before the last are open.
"$S46_BIN" gateway --listen 127.0.0.1:7001 --listen '[::1]:7001' --idle-timeout 0 \
	--log-level warn >/tmp/gw.log 2>&1 &
gw=$!
vmguest_listening 7000 || vmguest_finish "error=sink-did-not-start"
vmguest_listening 7001 || vmguest_finish "error=gateway-did-not-start $(tail -n 1 /tmp/gw.log)"

# One run exercises both: every connection goes through the agent and the gateway (TCG is
# slow enough that a second run, straight to the gateway, would double the guest's time).
mkdir /sys/fs/cgroup/s46max || vmguest_finish "error=no-cgroup"
"$S46_BIN" agent --gateway 127.0.0.1:7001 --gateway '[::1]:7001' --gateway-policy round-robin \
	--health-interval 0 --cgroup /sys/fs/cgroup/s46max --via-gateway 203.0.113.7/32 \
	--via-gateway 2001:db8::7/128 --no-dns --no-pin --fake-state none --optin-state none \
	--control /tmp/agent.sock --proxy-port 7046 --log-level warn >/tmp/agent.log 2>&1 &
agent=$!
vmguest_listening 7046 || vmguest_finish "error=agent-did-not-start $(tail -n 1 /tmp/agent.log)"
ab=$(vmguest_pss $agent) ahb=$(vmguest_heap $agent)
gb=$(vmguest_pss $gw) ghb=$(vmguest_heap $gw)
if vmguest_idle ag 203.0.113.7:7000 '[2001:db8::7]:7000' "" "" /sys/fs/cgroup/s46max; then
	sleep 1
	k="kernel=$(uname -r)"
	gl="gateway $k before_kb=$gb after_kb=$(vmguest_pss $gw) heap_before_kb=$ghb heap_after_kb=$(vmguest_heap $gw) fds=$(vmguest_fds $gw)"
	al="agent $k before_kb=$ab after_kb=$(vmguest_pss $agent) heap_before_kb=$ahb heap_after_kb=$(vmguest_heap $agent) fds=$(vmguest_fds $agent)"
else
	gl="gateway error=not-all-open"
	al="agent error=not-all-open $(tail -n 2 /tmp/agent.log | tr '\n' ' ')"
fi
vmguest_verify ag
echo "$gl $(cat /tmp/verify.ag)" >>$out
echo "$al $(cat /tmp/verify.ag)" >>$out
vmguest_finish ""
