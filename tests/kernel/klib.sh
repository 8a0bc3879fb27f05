# klib.sh — a one-namespace setup for kernel tests: servers, resolver, gateway and agent; sourced.
#
# Everything lives in one fresh network namespace with no route out: the servers'
# addresses sit on its loopback (203.0.113.2 serves "hello-s4", 2001:db8:1::2 serves
# "hello-s6"; dnsmasq on 127.0.0.2 knows web4.test (A only) and web6.test (AAAA only)),
# the gateway listens on 127.0.0.1:1080, the agent redirects one fresh test cgroup.
# Only the programs run through kin() are in that cgroup. Links are pinned on a bpffs
# mounted for this run. Needs: iproute2, python3, dnsmasq; honours S46_BIN.

KDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(cd "$KDIR/../.." && pwd)}
S46_BIN=${S46_BIN:-$REPO/build/socks46}
PY=/usr/bin/python3
PROBE=$KDIR/s46probe.py
T=s46k$$
NS=$T
TMP=$(mktemp -d "/tmp/$T.XXXXXX")
BPFFS=$TMP/bpffs
PIN=$BPFFS/socks46
CTL=$TMP/agent.sock
STATE=$TMP/fakeip.state
OPTINS=$TMP/optins
DNS_SRV4=203.0.113.53
DNS_SRV6=2001:db8:1::53
PIDS=()
AGENT_PID=
CG=
_KCLEANED=0

# Assertions, polling and cg_root are the integration tests' (a VM guest sees the whole
# tree through its read-only root share).
. "$REPO/tests/integration/helpers.sh"

# kns CMD...: run CMD in the test namespace, outside the test cgroup.
kns() { nsenter --net="/run/netns/$NS" "$@"; }

# kin CMD...: run CMD in the namespace AND in the redirected test cgroup.
kin()
{
	(
		echo "$BASHPID" >"$CG/cgroup.procs" || exit 125
		exec nsenter --net="/run/netns/$NS" "$@"
	)
}

# kspawn NAME CMD...: background process in the namespace; log in $TMP/NAME.log.
kspawn()
{
	local name=$1
	shift
	nsenter --net="/run/netns/$NS" "$@" >"$TMP/$name.log" 2>&1 </dev/null &
	SPAWNED_PID=$!
	PIDS+=("$SPAWNED_PID")
}

# wait_tcp ADDR PORT: something listens there in the namespace.
wait_tcp()
{
	for _ in $(seq 100); do
		kns ss -Htln "sport = :$2" | grep -qF "$1" && return 0
		sleep 0.05
	done
	fail "nothing listens on $1:$2"
}

# The status reader is shared with the integration tests (VM guests see the whole tree).
AGENT_CTL=$REPO/tests/integration/agent_ctl.py

# agent_status_raw: the agent's control-socket answer, without the status command.
agent_status_raw() { $PY "$AGENT_CTL" "$CTL"; }

# jget KEY.PATH: a value from the agent's status JSON (e.g. counters.forwarded).
jget() { $PY "$AGENT_CTL" "$CTL" "$1"; }

# agent_start [ARGS...]: the agent for the test cgroup; gateways from $GATEWAYS.
GATEWAYS=${GATEWAYS:-127.0.0.1:1080}
agent_start()
{
	local g gw=()
	for g in $GATEWAYS; do
		gw+=(--gateway "$g")
	done
	kspawn agent "$S46_BIN" agent "${gw[@]}" --cgroup "$CG" --control "$CTL" \
		--pin-dir "$PIN" --fake-state "$STATE" --optin-state "$OPTINS" --dns-upstream 127.0.0.2 \
		--via-gateway 203.0.113.2/32 --log-level ${S46_AGENT_LOG:-info} "$@"
	AGENT_PID=$SPAWNED_PID
	for _ in $(seq 100); do
		[ -S "$CTL" ] && agent_status_raw >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/agent.log"
	fail "agent did not start"
}

agent_stop()
{
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

kcleanup()
{
	local rc=$? pid cg
	[ "$_KCLEANED" = 1 ] && return 0
	_KCLEANED=1
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" != 0 ]; then
		for f in "$TMP"/*.log; do
			[ -s "$f" ] && { printf -- '--- %s\n' "$(basename "$f")"; tail -n 40 "$f"; }
		done
	fi
	# Unpinning drops the links: the cgroup is no longer redirected.
	rm -rf "$PIN" 2>/dev/null
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	for pid in $(ip netns pids "$NS" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	# Nested test cgroups first: a cgroup with children cannot be removed.
	for cg in "$CG"/*/ "$CG" "$CG"-*; do
		cg=${cg%/}
		[ -n "$CG" ] && [ -d "$cg" ] || continue
		for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		for _ in $(seq 50); do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.05
		done
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
	return "$rc"
}

# ksetup: namespace, addresses, servers, resolver, gateway, bpffs, test cgroup.
ksetup()
{
	local root
	trap kcleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ -x "$S46_BIN" ] || fail "no socks46 binary at $S46_BIN"
	root=$(cg_root)
	[ -n "$root" ] || fail "no cgroup2 mount"
	CG=$root/$T
	mkdir "$CG" || fail "cannot create cgroup $CG"
	ip netns add "$NS" || fail "ip netns add"
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add 203.0.113.2/32 dev lo
	ip -n "$NS" addr add 2001:db8:1::2/128 dev lo nodad
	mkdir -p "$BPFFS"
	mount -t bpf bpf "$BPFFS" || fail "cannot mount bpffs"
	kspawn s4 "$PY" "$PROBE" serve 203.0.113.2 80 hello-s4
	kspawn s6 "$PY" "$PROBE" serve 2001:db8:1::2 80 hello-s6
	kspawn dnsmasq dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
		--listen-address=127.0.0.2 --user=root --pid-file="$TMP/dnsmasq.pid" \
		--local=/test/ --host-record=web4.test,203.0.113.2 \
		--host-record=web6.test,2001:db8:1::2
	kspawn gateway "$S46_BIN" gateway --listen 127.0.0.1:1080 --dns-server 127.0.0.2 \
		--threads 1 --mark 0x5346
	wait_tcp 203.0.113.2 80
	wait_tcp 2001:db8:1::2 80
	wait_tcp 127.0.0.1 1080
	for _ in $(seq 100); do
		kns ss -Hlun "sport = :53" | grep -q 127.0.0.2 && return 0
		sleep 0.05
	done
	fail "dnsmasq did not start"
}

# kdns6_up: a second real resolver (dnsmasq) on $DNS_SRV6 in the namespace, for the IPv6 hooks.
kdns6_up()
{
	ip -n "$NS" addr add "$DNS_SRV6/128" dev lo nodad
	kspawn dnsmasq6 dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$DNS_SRV6" --user=root --pid-file="$TMP/dnsmasq6.pid" \
		--local=/test/ --host-record=web4.test,203.0.113.2 --host-record=web6.test,2001:db8:1::2
	for _ in $(seq 100); do
		kns ss -Hltn "sport = :53" | grep -qF "$DNS_SRV6" && return 0
		sleep 0.05
	done
	fail "dnsmasq on $DNS_SRV6 does not listen"
}
