#!/bin/bash
# test_system.sh — socks46 from the .deb under a real systemd: legacy IPv4-only services reach an IPv6-only server by name.
# Runs inside the systemd guest (vmtest/systemd/guest.sh run), as the unit socks46-vmtest.service.
# The guest's root network namespace is the host the services run on; two namespaces hold
# the servers: web6 (IPv6 only, 2001:db8:6::2, busybox httpd) and dns (203.0.113.53,
# dnsmasq: web6.test has an AAAA record only). /etc/resolv.conf points at dnsmasq.
# Proves, in order: the package's units start and notify readiness; a service in socks46.slice
# is redirected without any attach, and so is a container in it (its own network namespace,
# served with the drop-in examples/containers/netns.conf); `socks46 attach --unit` opts a running service in; it
# stays redirected across restarts of itself, the agent and the gateway; system-wide mode
# (cgroup / in agent.conf, reloaded) with services in other slices and the opt-ins nested in
# it, the gateway on the same host working with its stock unit and configuration (the agent
# exempts its user, _socks46: no mark, no capability); no error lines in the units' journal; with the agent stopped or killed (kill -9),
# DNS answers from the real resolver while connects to fake addresses are refused.
REPO=${S46_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/tests/integration/helpers.sh"
# Each probe (journalctl, systemctl) is a process start, slow under emulation: poll gently.
WAIT_STEP=0.25
PY=/usr/bin/python3
UNITS=/etc/systemd/system
WEB6=2001:db8:6::2
DNS4=203.0.113.53
DEB=${S46_DEB:-}

# On a failure: what systemd and the daemons said.
guest_diag()
{
	local rc=$?
	[ "$rc" = 0 ] && return 0
	echo "--- systemctl --failed"
	systemctl --no-pager --failed
	echo "--- journal of the socks46 units (last 40 lines)"
	journalctl --no-pager -b -u socks46-gateway -u socks46-agent | tail -n 40
	return "$rc"
}
trap 'guest_diag; exit $?' EXIT

# ---- servers in namespaces, the host's resolver --------------------------------------
log "IPv6-only web server and dnsmasq in namespaces"
modprobe veth || fail "modprobe veth"
ip link set lo up
ip netns add web6 && ip netns add dns || fail "ip netns add"
ip link add web6 type veth peer name host netns web6 || fail "veth web6"
ip link add dns type veth peer name host netns dns || fail "veth dns"
ip addr add 2001:db8:6::1/64 dev web6 nodad
ip addr add 203.0.113.1/24 dev dns
ip link set web6 up
ip link set dns up
ip -n web6 link set lo up
ip -n web6 link set host up
ip -n web6 addr add "$WEB6/64" dev host nodad
ip -n dns link set lo up
ip -n dns link set host up
ip -n dns addr add "$DNS4/24" dev host
mkdir -p /srv/web6
echo "hello from web6" >/srv/web6/index.html
ip netns exec web6 busybox httpd -f -p "[$WEB6]:80" -h /srv/web6 &
ip netns exec dns dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$DNS4" --user=root --pid-file=/run/s46-dnsmasq.pid --local=/test/ \
	--host-record="web6.test,$WEB6" &
listening() { ip netns exec "$1" ss -Hln "sport = :$2" | grep -q .; }
wait_for 10 listening web6 80 || fail "httpd did not start"
wait_for 10 listening dns 53 || fail "dnsmasq did not start"
# The overlay root is the guest's own: replace the host's resolver configuration.
rm -f /etc/resolv.conf
echo "nameserver $DNS4" >/etc/resolv.conf
out=$(getent ahosts web6.test | awk '{ print $1; exit }')
assert_eq "$out" "$WEB6" "the guest resolves web6.test to its IPv6 address"
out=$(curl -4 -sS --max-time 5 http://web6.test/ 2>&1)
assert_contains "$out" "Could not resolve host" "curl -4 alone cannot reach the IPv6-only server"

# unit_new NAME [SLICE]: a legacy client as a service: curl -4 (IPv4 only, unmodified)
# fetches the page every second and prints what it got.
unit_new()
{
	cat >"$UNITS/$1.service" <<-EOF
		[Unit]
		Description=legacy IPv4-only client $1
		[Service]
		${2:+Slice=$2}
		ExecStart=/bin/sh -c 'while :; do curl -4 -sS --max-time 5 http://web6.test/ 2>&1; sleep 1; done'
	EOF
}

# The test's own units and drop-ins exist before the package's postinst reloads systemd:
# a daemon-reload of its own costs seconds under emulation. The gateway has none: it runs
# as the package made it. The agent is never restarted by systemd, so that a killed agent
# stays dead.
unit_new slice4 socks46.slice
unit_new legacy4
unit_new sys4
unit_new other4 other.slice
mkdir -p "$UNITS/socks46-agent.service.d"
printf '[Service]\nRestart=no\n' >"$UNITS/socks46-agent.service.d/no-restart.conf"
# The drop-in that lets the agent serve containers' network namespaces, as shipped.
cp "$REPO/examples/containers/netns.conf" "$UNITS/socks46-agent.service.d/netns.conf"

# ---- the package ------------------------------------------------------------------------
log "installing $(basename "$DEB")"
[ -f "$DEB" ] || fail "no .deb (S46_DEB='$DEB'; make vmtest builds it with make deb)"
t0=$(date +%s)
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -i"; }
pass "dpkg -i $(basename "$DEB") ($(($(date +%s) - t0)) s)"
active() { [ "$(systemctl is-active "$1")" = active ]; }
for u in socks46-gateway socks46-agent; do
	assert_eq "$(systemctl is-enabled $u.service)" enabled "$u.service enabled by the package"
	wait_for 10 active $u.service
	assert_eq "$(systemctl is-active $u.service)" active "$u.service started by the package"
done
agent_ready() { socks46 status >/dev/null 2>&1; }
wait_for 10 agent_ready || fail "the agent does not answer status: $(socks46 status 2>&1)"
pass "socks46 status answers through /run/socks46/agent.sock"
# Type=notify: systemd calls a unit started only once it said READY=1.
for u in socks46-gateway socks46-agent; do
	assert_eq "$(systemctl show -p Type --value $u.service)" notify "$u.service is Type=notify"
	st=$(systemctl show -p StatusText --value $u.service)
	[ -n "$st" ] || fail "$u.service sent no STATUS="
	pass "$u.service status: $st"
done

# invocation UNIT: the unit's current invocation id (its journal lines carry it).
invocation() { systemctl show -p InvocationID --value "$1"; }

# fetches ID: what the invocation's curl printed so far, one line per fetch.
fetches() { journalctl --no-pager -o cat "_SYSTEMD_INVOCATION_ID=$1"; }

# first_fetch UNIT: the first fetch of the unit's current run (waits for it).
first_fetch()
{
	local id
	id=$(invocation "$1")
	[ -n "$id" ] || fail "$1 has no invocation id"
	_has_fetch() { [ -n "$(fetches "$id")" ]; }
	wait_for 20 _has_fetch || fail "$1 fetched nothing in 20s"
	fetches "$id" | head -n 1
}

# fetch_ok_after UNIT CURSOR-FILE: a fetch after the journal position saved in CURSOR-FILE
# got the page (within 20 s: the client fetches every second).
fetch_ok_after()
{
	local id
	id=$(invocation "$1")
	_ok_since() { journalctl --no-pager -o cat --after-cursor="$(cat "$2")" \
		"_SYSTEMD_INVOCATION_ID=$id" | grep -q "hello from web6"; }
	wait_for 20 _ok_since "$@" ||
		fail "$1: no successful fetch in 20s: $(journalctl --no-pager -o cat \
			--after-cursor="$(cat "$2")" "_SYSTEMD_INVOCATION_ID=$id" | tail -n 3)"
}

# mark FILE: saves the journal's current position.
mark() { journalctl -q -n 1 -o export | sed -n 's/^__CURSOR=//p' >"$1"; }

# ---- a service that joins socks46.slice ---------------------------------------------------
log "a service in socks46.slice is redirected without any attach"
systemctl start slice4.service
assert_eq "$(first_fetch slice4.service)" "hello from web6" \
	"curl -4 in socks46.slice reaches the IPv6-only server by name, first try"
# handed: how many connections the agent handed to the gateway (the stock configurations
# enable the handoff: the agent is not in the data path).
handed() { socks46 status --json | grep -o '"handed_off":[0-9]*' | cut -d: -f2; }
[ "$(handed)" -ge 1 ] || fail "the agent handed no connection to the gateway: $(socks46 status)"
pass "the agent handed slice4's connections to the gateway over its Unix socket"
assert_contains "$(socks46 status)" "handoff: /run/socks46-gateway/handoff.sock, up" \
	"status shows the handoff channel up"

# ---- a container in socks46.slice --------------------------------------------------------
log "a container (its own network namespace, a scope in socks46.slice), with the drop-in"
ip netns add ctr && ip -n ctr link set lo up || fail "ip netns add ctr"
# What a runtime's hook does: the namespace is served before the program runs.
out=$(systemd-run --quiet --scope --slice=socks46.slice --unit=ctr1 ip netns exec ctr sh -c \
	'socks46 netns add --pid $$ >/dev/null && exec curl -4 -sS --max-time 10 http://web6.test/' 2>&1)
assert_eq "$out" "hello from web6" \
	"curl -4 in the container's namespace reaches the IPv6-only server by name, first try"
ip netns del ctr

# ---- a legacy service opted in by unit name ---------------------------------------------
log "a legacy service opted in with socks46 attach --unit"
systemctl start legacy4.service
out=$(first_fetch legacy4.service)
assert_contains "$out" "Could not resolve host" "before the attach, legacy4 fails to resolve"
mark /tmp/c0
socks46 attach --unit legacy4.service || fail "socks46 attach --unit legacy4.service"
fetch_ok_after legacy4.service /tmp/c0
pass "after socks46 attach --unit, legacy4 reaches the IPv6-only server by name"

# ---- restarts ------------------------------------------------------------------------------
log "systemctl restart of the service: systemd makes its cgroup again"
systemctl restart legacy4.service || fail "restart legacy4"
assert_eq "$(first_fetch legacy4.service)" "hello from web6" \
	"legacy4's first fetch after its restart reaches the server (the new cgroup was followed)"

log "systemctl restart of the agent"
mark /tmp/c1
systemctl restart socks46-agent.service || fail "restart socks46-agent"
fetch_ok_after legacy4.service /tmp/c1
pass "legacy4 works again after the agent's restart (the opt-in was kept)"
fetch_ok_after slice4.service /tmp/c1
pass "slice4 works again after the agent's restart"
assert_contains "$(socks46 status)" "legacy4.service" "status lists the unit opted in before the restart"
systemctl restart legacy4.service || fail "restart legacy4"
assert_eq "$(first_fetch legacy4.service)" "hello from web6" \
	"the new agent follows legacy4 across a restart of the service too"

log "systemctl restart of the gateway"
mark /tmp/c2
systemctl restart socks46-gateway.service || fail "restart socks46-gateway"
before=$(handed)
fetch_ok_after legacy4.service /tmp/c2
pass "legacy4 works again after the gateway's restart"
fetch_ok_after slice4.service /tmp/c2
pass "slice4 works again after the gateway's restart"
handed_more() { [ "$(handed)" -gt "$before" ]; }
wait_for 10 handed_more || fail "no connection handed over after the gateway's restart"
pass "the agent hands connections over again after the gateway's restart"

# ---- system-wide mode ----------------------------------------------------------------------
log "system-wide mode: the agent attached to the root cgroup"
# The co-located gateway as the package ships it: its user, no mark, no capability. The
# agent leaves the sockets of _socks46 alone by default.
uid=$(id -u _socks46) || fail "the package made no user _socks46"
gwpid=$(systemctl show -p MainPID --value socks46-gateway.service)
assert_eq "$(awk '/^Uid:/ { print $2 }' "/proc/$gwpid/status")" "$uid" \
	"the gateway runs as _socks46 (uid $uid)"
assert_eq "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$gwpid/status")" 0000000000000000 \
	"the gateway runs without capabilities"
assert_eq "$(grep -cE '^mark' /etc/socks46/gateway.conf)" 0 "gateway.conf sets no mark"
assert_eq "$(ls /etc/systemd/system/socks46-gateway.service.d 2>/dev/null)" "" \
	"the gateway unit has no drop-in"
assert_contains "$(socks46 status)" "exempt users: uid $uid (_socks46)" \
	"socks46 status lists _socks46 as exempt"
sed -i 's|^cgroup .*|cgroup /|' /etc/socks46/agent.conf
systemctl reload socks46-agent.service || fail "reload socks46-agent with cgroup /"
# A gateway started under the root cgroup's programs, with an empty DNS cache.
systemctl restart socks46-gateway.service || fail "restart socks46-gateway in system-wide mode"
mark /tmp/c3
systemctl start sys4.service other4.service
assert_eq "$(first_fetch sys4.service)" "hello from web6" \
	"curl -4 in system.slice reaches the IPv6-only server by name, first try"
assert_eq "$(first_fetch other4.service)" "hello from web6" \
	"curl -4 in other.slice reaches the IPv6-only server by name, first try"
# This test is a service too: its own lookups get fake addresses now.
FAKE4=$(getent ahostsv4 web6.test | awk '{ print $1; exit }')
case $FAKE4 in
198.18.* | 198.19.*) pass "the test's own getent gets a fake address ($FAKE4)" ;;
*) fail "getent ahostsv4 web6.test in system.slice: '$FAKE4', not a fake address" ;;
esac
out=$(curl -4 -sS --max-time 5 http://web6.test/ 2>&1)
assert_eq "$out" "hello from web6" "curl -4 run by the test itself reaches the server"
# What the gateway's user sees: the real resolver, not fake addresses.
out=$(setpriv --reuid=_socks46 --regid=_socks46 --clear-groups getent ahosts web6.test |
	awk '{ print $1 }' | sort -u | tr '\n' ' ')
assert_eq "$out" "$WEB6 " "getent as _socks46 (in system.slice) gets the real address only"
fetch_ok_after legacy4.service /tmp/c3
pass "legacy4 (opted in by unit, inside the root cgroup) still works"
fetch_ok_after slice4.service /tmp/c3
pass "slice4 (socks46.slice, inside the root cgroup) still works"
# systemctl speaks to systemd over its private socket.
assert_eq "$(systemctl list-units --failed --plain --no-legend | wc -l)" 0 \
	"systemd answers on its own socket and lists no failed unit"

# ---- the journal ---------------------------------------------------------------------------
log "the daemons' journal"
errs=$(journalctl -q --no-pager -b -p err -u socks46-gateway -u socks46-agent)
assert_eq "$errs" "" "no error lines from the socks46 units"
# Under journald the daemons leave time and pid to the journal.
own=$(journalctl -q --no-pager -b -o cat _COMM=socks46 | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' | head -n 3)
assert_eq "$own" "" "no timestamps of the daemons' own in the journal"

# ---- no agent: DNS fails open, fake addresses fail closed -----------------------------------
# dns_open WHAT: the real resolver answers (the real AAAA record, not a fake address) at once.
dns_open()
{
	local t0 ms out
	t0=$(date +%s%N)
	out=$(getent hosts web6.test)
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_contains "$out" "$WEB6" "$1: getent hosts web6.test gets the real address (${ms} ms)"
}

# fake_refused WHAT: a connect to the fake address fails at once with ECONNREFUSED.
fake_refused()
{
	local out
	out=$($PY -c 'import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect((sys.argv[1], 80))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$FAKE4")
	assert_eq "$out" ECONNREFUSED "$1: a connect to the fake address $FAKE4 is refused"
}

log "systemctl stop socks46-agent"
systemctl stop socks46-agent.service || fail "stop socks46-agent"
dns_open "agent stopped"
fake_refused "agent stopped"
systemctl start socks46-agent.service || fail "start socks46-agent"
faked() { getent ahostsv4 web6.test | grep -q '^198\.1[89]\.'; }
wait_for 10 faked || fail "web6.test not faked again after the agent's start"
pass "the started agent answers with fake addresses again"

log "kill -9 of the agent (not restarted: see the drop-in above)"
pid=$(systemctl show -p MainPID --value socks46-agent.service)
[ "${pid:-0}" -gt 0 ] || fail "no main pid for socks46-agent"
kill -9 "$pid"
gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_for 10 gone || fail "the agent survived kill -9"
dns_open "agent killed"
fake_refused "agent killed"
exit 0
