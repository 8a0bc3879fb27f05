#!/bin/sh
# vmguest.sh — runs in a QEMU guest (PID 1, started by vmtest/init): BENCH_MAX relayed connections held at once through one agent and one gateway process, under a descriptor limit the host does not grant.
# Writes two lines to result-max on the work share, "gateway ..." and "agent ...": the fields
# s46bench's idle-verify prints (summed over its parts), each process's Pss and heap
# (kB) before and after, and its descriptor count; then powers off. PID 1 must never exit,
# so every path ends in vmguest_finish.
#
# One loopback 4-tuple (source address, destination address and port) has 55,536 ephemeral
# ports here, and connect() searches longer for a free one the fuller its tuple is: at 90%
# the kernel's port search, not socks46, took all the CPU. So each of the three connect()s
# per connection spreads over VM_PARTS tuples: the programs connect from 8 source
# addresses to 8 targets (203.0.113.8-11, 2001:db8::8-b, on lo here, --via-gateway),
# the BPF programs send them to the agent, the agent dials 8 gateway listeners round robin,
# the gateway dials the targets, where the sink listens.
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

# vmguest_idle TAG CGROUP: opens BENCH_MAX connections in VM_PARTS parts, one s46bench each
# (its own source and target, half of them IPv6), waits until all hold them; the caller
# measures, then vmguest_verify ends them.
vmguest_idle()
{
	tag=$1 cg=$2 pids=
	for p in $(seq $VM_PARTS); do
		n=$((BENCH_MAX / VM_PARTS))
		[ "$p" = $VM_PARTS ] && n=$((BENCH_MAX - n * (VM_PARTS - 1)))
		rm -f /tmp/ready.$tag.$p
		# shellcheck disable=SC2046 # vmguest_part prints the part's options
		sh -c '[ -z "$0" ] || echo $$ >"$0/cgroup.procs" || exit 1; exec "$@"' "$cg" \
			"$S46_TOOLS/s46bench" idle $(vmguest_part "$p") --count $n --conc 128 \
			--ready-file /tmp/ready.$tag.$p --hold 600 --timeout "$BENCH_VM_SECS" \
			--verify-secs 300 \
			>/tmp/idle.$tag.$p 2>/tmp/idle.$tag.$p.err &
		pids="$pids $!"
	done
	for _ in $(seq $((BENCH_VM_SECS * 10))); do
		ready=0 p=0
		for pid in $pids; do
			p=$((p + 1))
			[ -s /tmp/ready.$tag.$p ] && ready=$((ready + 1)) && continue
			kill -0 "$pid" 2>/dev/null || return 1
		done
		[ $ready = $VM_PARTS ] && return 0
		sleep 0.1
	done
	return 1
}

# vmguest_part P: part P's --source and --target. Odd parts are IPv4, even IPv6.
vmguest_part()
{
	i=$((($1 + 1) / 2))
	if [ $(($1 % 2)) = 1 ]; then
		echo "--source 127.0.0.$((10 + i)) --target 203.0.113.$((7 + i)):7000"
	else
		echo "--source 2001:db8::1:$i --target [2001:db8::$(printf %x $((7 + i)))]:7000"
	fi
}

# vmguest_verify TAG: every connection still relays; the summed idle-verify fields go to
# /tmp/verify.TAG (not printed: a command substitution's subshell cannot wait for the parts).
vmguest_verify()
{
	kill -USR1 $pids 2>/dev/null
	# shellcheck disable=SC2086 # pids is a list
	wait $pids
	vmguest_sum "$1" >/tmp/verify."$1"
}

vmguest_sum()
{
	# set -f is on: the parts' files are listed, not globbed.
	files=$(seq -f "/tmp/idle.$1.%g" $VM_PARTS)
	# shellcheck disable=SC2086 # files is a list
	cat $files | awk -v parts=$VM_PARTS '
		/mode=idle / { for (i = 1; i <= NF; i++) if ($i ~ /^secs=/) { split($i, kv, "="); if (kv[2] > osecs) osecs = kv[2] } }
		/mode=idle-verify/ { n++; for (i = 1; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
		END {
			if (n < parts) { print "error=no-result"; exit }
			printf "established=%d dropped=%d verified=%d failed=%d errors=%d open_secs=%s ",
				s["established"], s["dropped"], s["verified"], s["failed"], s["errors"], osecs }'
	# shellcheck disable=SC2086 # files is a list
	(cd /tmp && cat $(seq -f "idle.$1.%g.err" $VM_PARTS)) 2>/dev/null | head -c 200 | tr '\n' ' '
}

: >$out
set -f # addresses such as [::1]:7001 are not file patterns
ip link set lo up
VM_PARTS=8
for i in 1 2 3 4; do
	ip addr add 203.0.113.$((7 + i))/32 dev lo
	ip addr add "2001:db8::$(printf %x $((7 + i)))/128" dev lo nodad
	ip addr add 2001:db8::1:$i/128 dev lo nodad
done
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
gwl='' gws=''
for port in 7001 7002 7003 7004; do
	gwl="$gwl --listen 127.0.0.1:$port --listen [::1]:$port"
	gws="$gws --gateway 127.0.0.1:$port --gateway [::1]:$port"
done
# shellcheck disable=SC2086 # gwl is a list of options
"$S46_BIN" gateway $gwl --idle-timeout 0 --log-level warn >/tmp/gw.log 2>&1 &
gw=$!
vmguest_listening 7000 || vmguest_finish "error=sink-did-not-start"
vmguest_listening 7004 || vmguest_finish "error=gateway-did-not-start $(tail -n 1 /tmp/gw.log)"

# One run exercises both: every connection goes through the agent and the gateway (TCG is
# slow enough that a second run, straight to the gateway, would double the guest's time).
mkdir /sys/fs/cgroup/s46max || vmguest_finish "error=no-cgroup"
# shellcheck disable=SC2086 # gws is a list of options
"$S46_BIN" agent $gws --gateway-policy round-robin \
	--health-interval 0 --cgroup /sys/fs/cgroup/s46max --via-gateway 203.0.113.8/30 \
	--via-gateway 2001:db8::8/126 --no-dns --no-pin --fake-state none --optin-state none \
	--control /tmp/agent.sock --proxy-port 7046 --log-level warn >/tmp/agent.log 2>&1 &
agent=$!
vmguest_listening 7046 || vmguest_finish "error=agent-did-not-start $(tail -n 1 /tmp/agent.log)"
ab=$(vmguest_pss $agent) ahb=$(vmguest_heap $agent)
gb=$(vmguest_pss $gw) ghb=$(vmguest_heap $gw)
if vmguest_idle ag /sys/fs/cgroup/s46max; then
	sleep 1
	k="kernel=$(uname -r)"
	gl="gateway $k before_kb=$gb after_kb=$(vmguest_pss $gw) heap_before_kb=$ghb heap_after_kb=$(vmguest_heap $gw) fds=$(vmguest_fds $gw)"
	al="agent $k before_kb=$ab after_kb=$(vmguest_pss $agent) heap_before_kb=$ahb heap_after_kb=$(vmguest_heap $agent) fds=$(vmguest_fds $agent)"
	# Each relayed connection holds two descriptors in each process: fewer, and some
	# connections reached the sink another way, so the figures would not be per connection.
	for pid in $gw $agent; do
		[ "$(vmguest_fds $pid)" -ge $((2 * BENCH_MAX)) ] && continue
		gl="gateway error=not-all-relayed fds=$(vmguest_fds $gw)"
		al="agent error=not-all-relayed fds=$(vmguest_fds $agent)"
	done
else
	gl="gateway error=not-all-open"
	al="agent error=not-all-open $(tail -n 2 /tmp/agent.log | tr '\n' ' ')"
fi
vmguest_verify ag
echo "$gl $(cat /tmp/verify.ag)" >>$out
echo "$al $(cat /tmp/verify.ag)" >>$out
vmguest_finish ""
