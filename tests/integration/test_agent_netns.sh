#!/bin/bash
# test_agent_netns.sh — one agent serves containers (a network namespace + a cgroup under an attached parent, as a runtime makes them): bridged, routed and isolated ones, one started through the OCI hook path, one deleted with a connection open, one not attached, and one whose connection is handed to a gateway on the same host (--handoff).
. "$(dirname "$0")/lib.sh"

topo_up
mkdir -p "$TMP/www6"
printf 'hello from s6 to a container\n' >"$TMP/www6/page.html"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
echo_serve "$NS_S6" "$S6_ADDR" 7000
SPAWN_NAME=uecho6 spawn "$NS_S6" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S6_ADDR" 7
SPAWN_NAME=uecho4 spawn "$NS_S4" "$PY" -u "$ITEST_DIR/socks5_udp.py" serve "$S4_ADDR" 7
gw_start

# The host is c4 (the agent's namespace). Containers get 203.0.113.128/25 on a bridge there,
# 203.0.113.64/30 on a routed veth, or nothing; none of them has a path beyond c4.
HOST=$NS_C4
BR_ADDR=203.0.113.129
ip -n "$HOST" link add br0 type bridge && ip -n "$HOST" link set br0 up &&
	ip -n "$HOST" addr add "$BR_ADDR/25" dev br0 || fail "bridge in the host namespace"
# The resolver containers normally use: a dnsmasq on the bridge with a real answer for
# web4.test (the agent would fake it).
dns_serve "$HOST" "$BR_ADDR" "host-record=web4.test,$S4_ADDR" "host-record=db,203.0.113.140"
DNSBR_LOG=$SPAWNED_LOG

ATTACHED=$(cg_make ctrs)
FREE=$(cg_make free)

# ctr NAME KIND ADDR: a container namespace $T<NAME> and cgroup (under ctrs, or free for the
# free one); KIND: bridge (ADDR/25 on br0), veth (ADDR/30, host end .65) or none.
ctr()
{
	local ns=$T$1
	ns_new "$1"
	case $2 in
	bridge)
		ip -n "$HOST" link add "v$1" type veth peer name eth0 netns "$ns" &&
			ip -n "$HOST" link set "v$1" master br0 up &&
			ip -n "$ns" link set eth0 up && ip -n "$ns" addr add "$3/25" dev eth0 &&
			ip -n "$ns" route add default via "$BR_ADDR" || fail "container $1 on the bridge"
		ns_resolv "$ns" "$BR_ADDR"
		;;
	veth)
		ip -n "$HOST" link add "v$1" type veth peer name eth0 netns "$ns" &&
			ip -n "$HOST" link set "v$1" up && ip -n "$HOST" addr add 203.0.113.65/30 dev "v$1" &&
			ip -n "$ns" link set eth0 up && ip -n "$ns" addr add "$3/30" dev eth0 &&
			ip -n "$ns" route add default via 203.0.113.65 || fail "container $1 on a veth"
		ns_resolv "$ns" 203.0.113.65
		;;
	none) ns_resolv "$ns" "$GW4_ADDR" ;;
	esac
	if [ "$1" = free ]; then
		mkdir -p "$FREE/$1"
	else
		mkdir -p "$ATTACHED/$1"
	fi
}

# ctr_init NAME [CMD...]: the container's first process (what runc leaves waiting for exec),
# in its namespace first, then in its cgroup, as a runtime does; runs CMD (default: sleeps,
# seeing the container's /etc/resolv.conf).
# Sets INIT_PID, INIT_LOG.
ctr_init()
{
	local cg=$ATTACHED/$1 name=$1
	[ "$1" = free ] && cg=$FREE/$1
	shift
	[ $# -gt 0 ] || set -- ip netns exec "$T$name" sleep 3600
	SPAWN_NAME=init-$name NS_KEEP_FS=1 spawn "$T$name" sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
		sh "$cg" "$@"
	INIT_PID=$SPAWNED_PID INIT_LOG=$SPAWNED_LOG
	wait_for 5 grep -qx "$INIT_PID" "$cg/cgroup.procs" || fail "init of $1 is not in its cgroup"
}

# in_ctr NAME CMD...: run CMD in container NAME (its namespace and cgroup).
in_ctr()
{
	local cg=$ATTACHED/$1 ns=$T$1
	[ "$1" = free ] && cg=$FREE/$1
	shift
	IN_CG=$cg nsx "$ns" "$@"
}

ns_inode() { stat -L -c %i "/run/netns/$1"; }

# served INODE: whether the agent's status lists that namespace.
served()
{
	"$PY" "$ITEST_DIR/agent_ctl.py" "${CTL:-$TMP/a.sock}" namespaces | "$PY" -c 'import json, sys
sys.exit(0 if any(n["inode"] == int(sys.argv[1]) for n in json.load(sys.stdin)) else 1)' "$1"
}

# agent_map NAME: the id of the agent's BPF map NAME (from its descriptors).
agent_map()
{
	local f id
	for f in /proc/"$AGENT_PID"/fdinfo/*; do
		id=$(awk '/^map_id:/ { print $2 }' "$f" 2>/dev/null)
		[ -n "$id" ] && bpftool map show id "$id" 2>/dev/null | grep -q " name $1 " &&
			{ echo "$id"; return 0; }
	done
	return 1
}

# curl_page NAME: an unmodified IPv4-only curl in container NAME fetches the page of the
# IPv6-only server by name, and connected to a fake address.
curl_page()
{
	local out
	out=$(in_ctr "$1" curl -4 -sS --max-time 10 -w '\n%{remote_ip}' http://web6.test/page.html) ||
		fail "curl -4 in $1: $out"
	assert_eq "$(printf '%s\n' "$out" | head -n 1)" "$(cat "$TMP/www6/page.html")" \
		"$1: curl -4 got the page of the IPv6-only web6.test"
	case $(printf '%s\n' "$out" | tail -n 1) in
	198.18.* | 198.19.*) pass "$1: curl connected to a fake address" ;;
	*) fail "$1: curl connected to $(printf '%s\n' "$out" | tail -n 1)" ;;
	esac
}

log "containers made as a runtime makes them, before the agent starts"
ctr br bridge 203.0.113.130
ctr_init br
ctr rt veth 203.0.113.66
ctr_init rt
RT_INIT=$INIT_PID
ctr free bridge 203.0.113.131
ctr_init free
FREE_INIT=$INIT_PID

agent_spawn "$HOST" a "$TMP/a.sock" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$ATTACHED" \
	--no-pin --fake-state none --dns-upstream "$GW4_ADDR"
A_LOG=$AGENT_LOG

for c in br rt; do
	wait_for 10 served "$(ns_inode "$T$c")" || fail "the agent does not serve container $c"
done
pass "the agent found and serves both containers' namespaces"
out=$("$S46_BIN" status --control "$TMP/a.sock")
assert_contains "$out" "inode $(ns_inode "${T}br") (cookie " "socks46 status lists the bridged container's namespace"
assert_contains "$out" "1 process (pid $RT_INIT), 0 connections" "with the process seen in the routed one"
assert_contains "$out" "    cgroup $ATTACHED/rt" "and its cgroup"
curl_page br
curl_page rt
r=$(in_ctr br "$PY" "$ITEST_DIR/agent_dns_query.py" "$BR_ADDR" 53 db A)
assert_contains "$r" "ans=203.0.113.140 " "br: a name not faked is answered by the container's own resolver"
wait_log "$DNSBR_LOG" "query\[A\] db from 203.0.113.130"
pass "br: the agent asked it from inside the container's namespace"

log "a container started after the agent, discovered by itself (no route at all)"
ctr iso none
t0=$(date +%s%N)
ctr_init iso
# Discovery (cgroup.events, and a scan every second): wait (bounded) until status shows it.
WAIT_STEP=0.01 wait_for 10 served "$(ns_inode "${T}iso")" || fail "the agent does not serve the isolated container"
pass "the isolated container's namespace is served"
echo "bench: a new container's namespace was served $((($(date +%s%N) - t0) / 1000000)) ms after its first process started"
curl_page iso
r=$(in_ctr iso "$PY" "$ITEST_DIR/agent_dns_query.py" "$GW4_ADDR" 53 web6.test A)
assert_contains "$r" "ans=198.1" "iso: DNS over UDP answered with a fake address"
r=$(in_ctr iso "$PY" "$ITEST_DIR/agent_dns_query.py" --tcp "$GW4_ADDR" 53 web6.test A)
assert_contains "$r" "ans=198.1" "iso: DNS over TCP answered with a fake address"
out=$(in_ctr iso "$PY" "$ITEST_DIR/udp_fake.py" web6.test 7) || fail "iso: UDP to web6.test: $out"
assert_contains "$out" "ok web6.test 198.1" "iso: transparent UDP (IPv4 program, IPv6 server)"
out=$(in_ctr iso "$PY" "$ITEST_DIR/udp_fake.py" --family inet6 web4.test 7) ||
	fail "iso: IPv6 UDP to web4.test: $out"
assert_contains "$out" "ok web4.test 2001:2:" "iso: transparent UDP from an IPv6 socket (slot route on its lo)"

log "a container started through the OCI hook path: served before its program runs"
ctr hook none
mkfifo "$TMP/exec.fifo"
# (ip netns exec again from inside: the container's resolv.conf.)
ctr_init hook sh -c 'read go <"$1"; exec ip netns exec "$2" curl -4 -sS --max-time 10 http://web6.test/page.html' \
	sh "$TMP/exec.fifo" "${T}hook"
HOOK_PID=$INIT_PID HOOK_LOG=$INIT_LOG
out=$(printf '{"ociVersion":"1.0.2","id":"hook","status":"creating","pid":%d,"bundle":"/"}' \
	"$HOOK_PID" | "$S46_BIN" netns add --control "$TMP/a.sock" --oci-state) ||
	fail "socks46 netns add --oci-state: $out"
assert_contains "$out" "serving network namespace inode $(ns_inode "${T}hook")" "the hook returns once the namespace is served"
echo go >"$TMP/exec.fifo"
wait "$HOOK_PID"
assert_eq "$?:$(cat "$HOOK_LOG")" "0:$(cat "$TMP/www6/page.html")" "hook: the container's first query and connection worked"

log "a container in a cgroup that is not attached keeps its own DNS"
r=$(in_ctr free "$PY" -c 'import socket; print(socket.gethostbyname("web4.test"))')
assert_eq "$r" "$S4_ADDR" "free: web4.test is the bridge dnsmasq's real answer"
wait_log "$DNSBR_LOG" "query\[A\] web4.test from 203.0.113.131"
served "$(ns_inode "${T}free")" && fail "the agent serves the unattached container"
pass "free: its namespace is not served"
out=$("$S46_BIN" netns add --control "$TMP/a.sock" --pid "$FREE_INIT" 2>&1)
assert_eq "$?:$out" "1:socks46 netns: pid $FREE_INIT is not in an attached cgroup" "netns add refuses an unattached container"
out=$("$S46_BIN" netns add --control "$TMP/a.sock" --optional --pid "$FREE_INIT" 2>&1)
assert_eq "$?" 0 "netns add --optional lets it pass"

log "the host's namespace is not served because a process of an attached cgroup is in it"
# (a process on its way into a container joins the cgroup before or after the namespace)
( echo "$BASHPID" >"$ATTACHED/br/cgroup.procs" && exec sleep 3600 ) &
HOSTPROC=$!
SPAWNED+=("$HOSTPROC")
out=$("$S46_BIN" netns add --control "$TMP/a.sock" --pid "$HOSTPROC" 2>&1)
assert_eq "$?:$out" "1:socks46 netns: the netns policy leaves out the namespace of pid $HOSTPROC (the host's: only a policy naming it serves it)" \
	"netns add refuses the host's namespace"
served "$(stat -L -c %i /proc/self/ns/net)" && fail "the agent serves the host's namespace"
pass "status does not list the host's namespace"
kill -KILL "$HOSTPROC"
wait "$HOSTPROC" 2>/dev/null

log "deleting a container's namespace while a connection is open leaves nothing behind"
RT_INODE=$(ns_inode "${T}rt")
RT_COOKIE=$("$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/a.sock" namespaces | "$PY" -c 'import json, sys
print([n["cookie"] for n in json.load(sys.stdin) if n["inode"] == int(sys.argv[1])][0])' "$RT_INODE")
IN_CG=$ATTACHED/rt SPAWN_NAME=held spawn "${T}rt" "$PY" -c 'import socket, time
s = socket.create_connection(("web6.test", 7000), timeout=10)
s.sendall(b"x")
s.recv(1)
print("held", flush=True)
time.sleep(3600)'
wait_log "$SPAWNED_LOG" '^held'
rt_conns() { "$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/a.sock" namespaces | "$PY" -c 'import json, sys
print([n["connections"] for n in json.load(sys.stdin) if n["inode"] == int(sys.argv[1])][0])' "$RT_INODE"; }
assert_eq "$(rt_conns)" 1 "status shows the open connection in the container's namespace"
"$PY" "$ITEST_DIR/sock_netns.py" "$AGENT_PID" | grep -q " $RT_INODE\$" ||
	fail "the agent has no socket in the container's namespace"
NETNS_MAP=$(agent_map s46_netns) || fail "no s46_netns map among the agent's descriptors"
bpftool -j map dump id "$NETNS_MAP" | "$PY" -c 'import json, sys
sys.exit(0 if any(int(e["formatted"]["key"]) == int(sys.argv[1]) for e in json.load(sys.stdin)) else 1)' \
	"$RT_COOKIE" || fail "s46_netns lacks the container's cookie"
# Live UDP flows of iso hold references too: the held connection holds one more.
fake_refs() { "$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/a.sock" fakeip | "$PY" -c 'import json, sys
print(sum(e["refs"] for e in json.load(sys.stdin)))'; }
REFS=$(fake_refs)
echo 1 >"$ATTACHED/rt/cgroup.kill"
ip netns del "${T}rt"
gone() { ! served "$RT_INODE"; }
wait_for 10 gone || fail "the deleted container's namespace is still served"
wait_log "$A_LOG" "inode $RT_INODE .*no longer served"
assert_eq "$("$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/a.sock" connections)" "[]" "status: no connection left"
"$PY" "$ITEST_DIR/sock_netns.py" "$AGENT_PID" | grep -q " $RT_INODE\$" &&
	fail "the agent still has a socket in the deleted namespace"
pass "the agent holds no socket of the deleted namespace (it can be freed)"
bpftool -j map dump id "$NETNS_MAP" | "$PY" -c 'import json, sys
sys.exit(1 if any(int(e["formatted"]["key"]) == int(sys.argv[1]) for e in json.load(sys.stdin)) else 0)' \
	"$RT_COOKIE" || fail "s46_netns still has the deleted namespace's cookie"
pass "s46_netns no longer has its cookie"
CONN_MAP=$(agent_map s46_conn) || fail "no s46_conn map among the agent's descriptors"
bpftool -j map dump id "$CONN_MAP" | "$PY" -c 'import json, sys
sys.exit(1 if any(int(e["formatted"]["key"]["netns_cookie"]) == int(sys.argv[1]) for e in json.load(sys.stdin)) else 0)' \
	"$RT_COOKIE" || fail "s46_conn keeps entries of the deleted namespace"
pass "s46_conn has no entry of it"
assert_eq "$(fake_refs)" "$((REFS - 1))" "the connection's fake-IP reference is gone (the others' UDP flows keep theirs)"

log "the other containers still work"
curl_page br
curl_page iso

log "with --handoff, a container's connection is handed to a gateway on the same host"
# The program's socket lives in the container's namespace: it crosses to the gateway (in gw)
# as a descriptor, through the per-namespace listener's redirect.
SPAWN_NAME=gateway-handoff spawn "$NS_GW" "$S46_BIN" gateway --listen "$GW4_ADDR:1081" \
	--handoff "$TMP/gwh.sock"
wait_for 10 test -S "$TMP/gwh.sock" || fail "the handoff gateway did not start"
stop_pid "$AGENT_PID"
agent_spawn "$HOST" h "$TMP/h.sock" --handoff "$TMP/gwh.sock" --gateway "$GW4_ADDR:$GW_PORT" \
	--cgroup "$ATTACHED" --no-pin --fake-state none --dns-upstream "$GW4_ADDR"
CTL=$TMP/h.sock
wait_for 10 served "$(ns_inode "${T}br")" || fail "the new agent does not serve container br"
curl_page br
assert_eq "$("$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/h.sock" counters.handed_off)" 1 \
	"br's connection was handed over"
assert_eq "$("$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/h.sock" counters.forwarded)" 0 \
	"no SOCKS5 connection was opened for it"

log "--netns-policy"
out=$("$S46_BIN" agent --gateway "$GW4_ADDR:$GW_PORT" --netns-policy 'a/b' --check-config 2>&1)
assert_eq "$?" 2 "a bad --netns-policy is a bad command line"
assert_contains "$out" "socks46 agent: --netns-policy: 'a/b' is not all, own or a list" "and says why"
