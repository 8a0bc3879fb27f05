#!/bin/bash
# test_system.sh — socks46 from the .deb under a real systemd: legacy IPv4-only services reach an IPv6-only server by name.
# Runs inside the systemd guest (vmtest/systemd/guest.sh run), as the unit socks46-vmtest.service.
# The guest's root network namespace is the host the services run on; two namespaces hold
# the servers: web6 (IPv6 only, 2001:db8:6::2, busybox httpd) and dns (203.0.113.53,
# dnsmasq: web6.test has an AAAA record only). /etc/resolv.conf points at dnsmasq.
REPO=${S46_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/tests/integration/helpers.sh"
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

# ---- the package ------------------------------------------------------------------------
log "installing $(basename "$DEB")"
[ -f "$DEB" ] || fail "no .deb (S46_DEB='$DEB'; make vmtest builds it with make deb)"
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -i"; }
pass "dpkg -i $(basename "$DEB")"
for u in socks46-gateway socks46-agent; do
	assert_eq "$(systemctl is-enabled $u.service)" enabled "$u.service enabled by the package"
	active() { [ "$(systemctl is-active "$1")" = active ]; }
	wait_for 10 active $u.service
	assert_eq "$(systemctl is-active $u.service)" active "$u.service started by the package"
done
agent_ready() { socks46 status >/dev/null 2>&1; }
wait_for 10 agent_ready || fail "the agent does not answer status: $(socks46 status 2>&1)"
pass "socks46 status answers through /run/socks46/agent.sock"

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
	systemctl daemon-reload
}

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
# got the page (within 20 s); prints the fetches since then.
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
unit_new slice4 socks46.slice
systemctl start slice4.service
assert_eq "$(first_fetch slice4.service)" "hello from web6" \
	"curl -4 in socks46.slice reaches the IPv6-only server by name, first try"

# ---- a legacy service opted in at run time ----------------------------------------------
log "a legacy service opted in with socks46 attach"
unit_new legacy4
systemctl start legacy4.service
out=$(first_fetch legacy4.service)
assert_contains "$out" "Could not resolve host" "before the attach, legacy4 fails to resolve"
mark /tmp/c0
socks46 attach system.slice/legacy4.service || fail "socks46 attach"
fetch_ok_after legacy4.service /tmp/c0
pass "after socks46 attach, legacy4 reaches the IPv6-only server by name"

# ---- restarts ------------------------------------------------------------------------------
log "systemctl restart of the gateway"
mark /tmp/c1
systemctl restart socks46-gateway.service || fail "restart socks46-gateway"
fetch_ok_after slice4.service /tmp/c1
pass "slice4 works again after the gateway's restart"
fetch_ok_after legacy4.service /tmp/c1
pass "legacy4 works again after the gateway's restart"

log "systemctl restart of the agent"
mark /tmp/c2
systemctl restart socks46-agent.service || fail "restart socks46-agent"
fetch_ok_after slice4.service /tmp/c2
pass "slice4 works again after the agent's restart"

# ---- the journal ---------------------------------------------------------------------------
log "the daemons' journal"
errs=$(journalctl -q --no-pager -b -p err -u socks46-gateway -u socks46-agent)
assert_eq "$errs" "" "no error lines from the socks46 units"
exit 0
