#!/bin/bash
# test_ipvs.sh — two gateways behind one virtual address (IPVS NAT, keepalived with a SOCKS5 health check): pages by name, failover without corruption, UDP ASSOCIATE.
# Needs ip_vs (Debian's kernels in the vmtest guests have it); without it the test is skipped.
. "$(dirname "$0")/../integration/lib.sh"

if ! modprobe ip_vs 2>/dev/null && ! grep -qw ip_vs /proc/modules 2>/dev/null; then
	echo "skipped: no ip_vs (kernel $(uname -r))"
	exit 77
fi
for t in keepalived ipvsadm curl; do
	command -v "$t" >/dev/null || fail "$t is missing (tools/install-deps.sh installs it)"
done

# c 198.51.100.2 -- lb 198.51.100.1 (VIP 198.51.100.10) -- g1 203.0.113.2 / g2 203.0.113.18
# g1, g2 -- web (2001:db8:6::80 on its loopback: web server, DNS server, UDP echo)
VIP=198.51.100.10
C=${T}c LB=${T}lb G1=${T}g1 G2=${T}g2 WEB=${T}web
G1_ADDR=203.0.113.2 G2_ADDR=203.0.113.18 WEB_ADDR=2001:db8:6::80
for n in c lb g1 g2 web; do ns_new "$n"; done
ns_link "$C" lb "$LB" c
ns_addr "$C" lb 198.51.100.2/24
ns_addr "$LB" c 198.51.100.1/24
ns_addr "$LB" c $VIP/32
ip -n "$C" route add default via 198.51.100.1
for g in 1 2; do
	ns=${T}g$g
	ns_link "$LB" g$g "$ns" lb
	ns_link "$ns" web "$WEB" g$g
	ns_addr "$LB" g$g 203.0.113.$((16 * (g - 1) + 1))/28
	ns_addr "$ns" lb 203.0.113.$((16 * (g - 1) + 2))/28
	# NAT mode: the real servers answer through the balancer.
	ip -n "$ns" route add default via 203.0.113.$((16 * (g - 1) + 1))
	ns_addr "$ns" web 2001:db8:6$g::1/64
	ns_addr "$WEB" g$g 2001:db8:6$g::2/64
	ip -n "$ns" -6 route add $WEB_ADDR via 2001:db8:6$g::2
	ns_resolv "$ns" $WEB_ADDR
done
ip netns exec "$LB" sysctl -qw net.ipv4.ip_forward=1
ns_addr "$WEB" lo $WEB_ADDR/128

dns_serve "$WEB" $WEB_ADDR "host-record=web6.test,$WEB_ADDR"
mkdir -p "$TMP/www"
head -c 524288 /dev/urandom >"$TMP/www/big.bin"
printf 'hello from web\n' >"$TMP/www/index.html"
SUM=$(sha256sum <"$TMP/www/big.bin" | cut -d' ' -f1)
http_serve "$WEB" $WEB_ADDR 80 "$TMP/www"
SPAWN_NAME=udp-echo spawn "$WEB" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve $WEB_ADDR 7

s46_spawn "$G1" gw1 $G1_ADDR 1080
G1_PID=$SPAWNED_PID G1_LOG=$SPAWNED_LOG
s46_spawn "$G2" gw2 $G2_ADDR 1080
G2_PID=$SPAWNED_PID G2_LOG=$SPAWNED_LOG

CHECK=$REPO/examples/keepalived/socks5_check.py
cat >"$TMP/keepalived.conf" <<EOF2
global_defs {
	router_id s46test
	script_user root
}
virtual_server $VIP 1080 {
	delay_loop 1
	lb_algo rr
	lb_kind NAT
	protocol TCP
	real_server $G1_ADDR 1080 {
		MISC_CHECK {
			misc_path "$PY $CHECK $G1_ADDR 1080 web6.test 4"
			misc_timeout 10
		}
	}
	real_server $G2_ADDR 1080 {
		MISC_CHECK {
			misc_path "$PY $CHECK $G2_ADDR 1080 web6.test 4"
			misc_timeout 10
		}
	}
}
EOF2
SPAWN_NAME=keepalived spawn "$LB" keepalived --dont-fork --log-console --log-detail --check \
	--use-file="$TMP/keepalived.conf" --pid="$TMP/ka.pid" --checkers_pid="$TMP/ka-check.pid" \
	--vrrp_pid="$TMP/ka-vrrp.pid"
KA_LOG=$SPAWNED_LOG

# sorted WORD...: the words sorted, space-separated.
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'; }
# reals: the real servers IPVS has for the VIP, sorted.
reals() { sorted $(ip netns exec "$LB" ipvsadm -Ln -t $VIP:1080 2>/dev/null | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2 }'); }
# wait_reals WANT SECONDS: until the balancer has exactly those real servers (polled twice
# a second: under TCG every poll costs the health checks CPU time).
wait_reals()
{
	local want end
	want=$(sorted $1)
	end=$(($(date +%s) + $2))
	until [ "$(reals)" = "$want" ]; do
		[ "$(date +%s)" -lt "$end" ] ||
			fail "real servers: want '$want', have '$(reals)': $(ip netns exec "$LB" ipvsadm -Ln 2>&1)"
		sleep 0.5
	done
	pass "the balancer has: ${want:-none}"
}
BOTH="$G1_ADDR:1080 $G2_ADDR:1080"
log "keepalived's SOCKS5 check puts both gateways behind $VIP:1080"
wait_reals "$BOTH" 30

# get N: N fetches of big.bin through the VIP by name (curl --socks5-hostname); each
# checksummed; prints one line per fetch: ok, fail or corrupt.
get()
{
	local i f=$TMP/got.$BASHPID
	for i in $(seq "$1"); do
		rm -f "$f"
		if nsx "$C" curl -sS --max-time 20 --socks5-hostname $VIP:1080 http://web6.test/big.bin \
			-o "$f" 2>/dev/null; then
			[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$SUM" ] && echo ok || echo corrupt
		else
			echo fail
		fi
	done
}
conns() { grep -c 'conn client=198.51.100.2:.* dest=web6.test:80 ' "$1"; }

log "clients fetch by name through the virtual address; the balancer spreads them"
res=$(get 6 | sort | uniq -c | tr -s ' ' | sed 's/^ //')
assert_eq "$res" "6 ok" "6 fetches of a 512 KiB file by name, checksums right"
_logged() { [ $(($(conns "$G1_LOG") + $(conns "$G2_LOG"))) -ge 6 ]; }
wait_for 10 _logged || fail "the gateways logged $(($(conns "$G1_LOG") + $(conns "$G2_LOG"))) of 6"
assert_eq "$(conns "$G1_LOG") $(conns "$G2_LOG")" "3 3" "round robin: 3 on each gateway"

log "through the agent: an IPv4-only program fetches the IPv6-only site by name"
CG=$(cg_make app)
dns_serve "$C" 198.51.100.2 "host-record=web6.test,$WEB_ADDR"
agent_spawn "$C" a "$TMP/a.sock" --gateway $VIP:1080 --cgroup "$CG" --no-pin \
	--fake-state "$TMP/a.state" --dns-upstream 198.51.100.2
agent_get()
{
	IN_CG=$CG nsx "$C" curl -4 -sS --max-time 20 http://web6.test/big.bin -o "$TMP/agent.got" ||
		return 1
	[ "$(sha256sum <"$TMP/agent.got" | cut -d' ' -f1)" = "$SUM" ]
}
for i in 1 2; do agent_get || fail "fetch $i through the agent"; done
pass "2 fetches through agent and VIP, checksums right"

log "UDP ASSOCIATE through the virtual address (BND: the real gateway's address, routed)"
out=$(nsx "$C" "$PY" "$ITEST_DIR/socks5_udp.py" -t 5 $VIP 1080 echo web6.test 7 hello-udp) ||
	fail "UDP ASSOCIATE: $out"
assert_contains "$out" "reply 00" "the association succeeds"
bnd=$(printf '%s\n' "$out" | awk '/^bnd/ { print $2 }')
case $bnd in $G1_ADDR | $G2_ADDR) pass "BND.ADDR is the real gateway's ($bnd)" ;;
*) fail "BND.ADDR $bnd" ;; esac
assert_contains "$out" "from $WEB_ADDR 7 hello-udp" "a datagram to web6.test:7 came back"

log "a gateway that accepts but cannot resolve is taken out by the SOCKS5 check"
ip -n "$G2" -6 route del $WEB_ADDR via 2001:db8:62::2
wait_reals "$G1_ADDR:1080" 30
res=$(get 4 | sort | uniq -c | tr -s ' ' | sed 's/^ //')
assert_eq "$res" "4 ok" "4 fetches while gw2 cannot resolve: all on gw1"
ip -n "$G2" -6 route add $WEB_ADDR via 2001:db8:62::2
wait_reals "$BOTH" 30

log "stopping a gateway mid-run: new connections move to the other, no transfer corrupted"
RUN_N=16
get $RUN_N >"$TMP/run.out" &
RUN_PID=$!
_started() { [ "$(wc -l <"$TMP/run.out")" -ge 5 ]; }
wait_for 60 _started || fail "the fetch loop does not progress"
stop_pid "$G1_PID" KILL
wait_reals "$G2_ADDR:1080" 30
moved=$(wc -l <"$TMP/run.out")
wait "$RUN_PID"
assert_not_contains "$(cat "$TMP/run.out")" corrupt "no completed transfer was corrupted ($RUN_N checksums)"
after=$(tail -n +$((moved + 2)) "$TMP/run.out" | sort | uniq -c | tr -s ' ' | sed 's/^ //')
assert_eq "$after" "$((RUN_N - moved - 1)) ok" "every fetch started after the balancer dropped gw1 succeeded"
pass "fetches lost while the check noticed: $(grep -c fail "$TMP/run.out") of $RUN_N"
for i in 1 2; do agent_get || fail "fetch $i through the agent after the failover"; done
pass "the agent's fetches go on through the VIP"

# S46_IPVS_BENCH=1: figures, not assertions. On the guest's 2 emulated cores every gateway, the balancer
# and the clients share the same CPUs, so two gateways show the balancer's overhead,
# not scaling.
if [ "${S46_IPVS_BENCH:-0}" = 1 ]; then
	log "bench: one, then two gateways behind the balancer"
	SPAWN_NAME=sink spawn "$WEB" "$S46_TOOLS/s46sink" --listen "[$WEB_ADDR]:9000"
	wait_port "$WEB" $WEB_ADDR 9000
	# bench MODE ARGS...: one s46bench run through the VIP; prints its figure.
	bench()
	{
		local mode=$1 out
		shift
		out=$(nsx "$C" "$S46_TOOLS/s46bench" "$mode" --socks $VIP:1080 --remote-dns \
			--target web6.test:9000 --duration "${S46_IPVS_BENCH_SECS:-3}" "$@" 2>&1) ||
			fail "s46bench $mode: $out"
		case $out in *errors=0*) ;; *)
			ip netns exec "$LB" ipvsadm -Ln --stats >&2
			tail -n 3 "$G1_LOG" "$G2_LOG" >&2
			fail "s46bench $mode: $out" ;;
		esac
		printf '%s\n' "$out" | sed -n 's/.*\(gbps\|cps\)=\([0-9.]*\).*/\2/p'
	}
	one_s=$(bench stream --conc 4) one_r=$(bench rate --conc 16)
	s46_spawn "$G1" gw1 $G1_ADDR 1080
	G1_LOG=$SPAWNED_LOG
	wait_reals "$BOTH" 30
	two_s=$(bench stream --conc 4) two_r=$(bench rate --conc 16)
	awk -v a="$one_s" -v b="$two_s" -v c="$one_r" -v d="$two_r" -v k="$(uname -r)" 'BEGIN {
		printf "bench: ipvs (kernel %s, %d cores): throughput 1 gateway %.2f Gbit/s, 2 gateways %.2f Gbit/s, ratio %.2f\n", k, '"$(nproc)"', a, b, b / a
		printf "bench: ipvs (kernel %s, %d cores): connections 1 gateway %d/s, 2 gateways %d/s, ratio %.2f\n", k, '"$(nproc)"', c, d, d / c }'
fi
exit 0
