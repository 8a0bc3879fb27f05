#!/bin/sh
# vmguest.sh — runs in a QEMU guest (PID 1, started by vmtest/init): socks46 holds BENCH_MAX relayed connections under a descriptor limit the host does not grant.
# Writes one line to result-max on the work share (fields as s46bench prints them, plus the
# gateway's Pss before and after and its descriptor count), then powers off. PID 1 must
# never exit, so every path ends in vmguest_finish.
share=/run/s46-vmtest
. $share/env

vmguest_finish()
{
	echo "$1" >$share/result-max
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

ip link set lo up
# Root in the guest has CAP_SYS_RESOURCE: the limit the host could not raise.
# shellcheck disable=SC3045 # the guest's /bin/sh is the host's dash, which has ulimit -n
ulimit -n 1048576 || vmguest_finish "error=cannot-raise-RLIMIT_NOFILE"
sysctl -qw net.ipv4.ip_local_port_range="10000 65535" net.ipv4.tcp_tw_reuse=1 \
	net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
cd /tmp || vmguest_finish "error=no-tmp"
"$S46_TOOLS/s46sink" --listen 127.0.0.1:7000 >/tmp/sink.log 2>&1 &
"$S46_BIN" gateway --listen 127.0.0.1:7001 --log-level warn >/tmp/gw.log 2>&1 &
gw=$!
vmguest_listening 7000 || vmguest_finish "error=sink-did-not-start"
vmguest_listening 7001 || vmguest_finish "error=gateway-did-not-start $(tail -n 1 /tmp/gw.log)"
before=$(vmguest_pss $gw)
"$S46_TOOLS/s46bench" idle --target 127.0.0.1:7000 --socks 127.0.0.1:7001 \
	--count "$BENCH_MAX" --conc 256 --ready-file /tmp/ready --hold 60 --timeout "${BENCH_VM_SECS:-120}" \
	>/tmp/idle.out 2>/tmp/idle.err &
bench=$!
for _ in $(seq 1200); do
	[ -s /tmp/ready ] && break
	kill -0 $bench 2>/dev/null || break
	sleep 0.1
done
after=
fds=
if [ -s /tmp/ready ]; then
	sleep 1
	after=$(vmguest_pss $gw)
	fds=$(ls /proc/$gw/fd | wc -l)
	kill -USR1 $bench
fi
wait $bench
line=$(grep idle-verify /tmp/idle.out)
[ -n "$line" ] || line="error=no-result $(head -c 200 /tmp/idle.err | tr '\n' ' ')"
vmguest_finish "$line kernel=$(uname -r) before_kb=$before after_kb=$after gateway_fds=$fds"
