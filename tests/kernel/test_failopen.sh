#!/bin/bash
# test_failopen.sh — with no agent alive (stopped, or killed with its links pinned) DNS reaches the real resolver, fake addresses still fail at once.
. "$(dirname "$0")/klib.sh"
ksetup
kdns6_up
agent_start

# answer SERVER NAME QTYPE MODE: the first address of the answer a program of the cgroup gets.
answer() { kin "$PY" "$PROBE" dns-answer "$@" | tail -n 1; }

# Each server, each transport: UDP unconnected (sendmsg4/6), UDP connected and TCP (connect4/6).
MODES="unconnected connected tcp"

log "agent alive: every kind of DNS query gets a fake answer from the agent"
for m in $MODES; do
	a=$(answer 127.0.0.2 web6.test 1 "$m")
	case $a in 198.1[89].*) pass "$m A web6.test via 127.0.0.2 -> $a (fake)" ;; *) fail "$m: $a" ;; esac
	a=$(answer "$DNS_SRV6" web4.test 28 "$m")
	case $a in 2001:2:*) pass "$m AAAA web4.test via $DNS_SRV6 -> $a (fake)" ;; *) fail "$m: $a" ;; esac
done
F4=$(answer 127.0.0.2 web6.test 1 unconnected)
F6=$(answer "$DNS_SRV6" web4.test 28 unconnected)

# real_dns WHAT: every kind of query is answered by the real resolvers.
real_dns()
{
	local m
	for m in $MODES; do
		assert_eq "$(answer 127.0.0.2 web6.test 28 "$m")" 2001:db8:1::2 \
			"$1: $m AAAA web6.test answered by the real resolver 127.0.0.2"
		assert_eq "$(answer "$DNS_SRV6" web4.test 1 "$m")" 203.0.113.2 \
			"$1: $m A web4.test answered by the real resolver $DNS_SRV6"
	done
}

# fake_refused WHAT: the links still redirect connects to fake addresses, into a closed port.
fake_refused()
{
	assert_eq "$(kin "$PY" "$PROBE" connect-error "$F4" 80)" ECONNREFUSED \
		"$1: connect to the fake $F4 fails at once with ECONNREFUSED"
	assert_eq "$(kin "$PY" "$PROBE" connect-error "$F6" 80)" ECONNREFUSED \
		"$1: connect to the fake $F6 fails at once with ECONNREFUSED"
}

log "agent killed with SIGKILL, links pinned: DNS fails open, fake addresses fail closed"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
n=$(find "$PIN" -name s46_connect4 | wc -l)
assert_eq "$n" 1 "the killed agent's links are still pinned"
real_dns "after kill -9"
fake_refused "after kill -9"

log "a new agent takes DNS back"
agent_start
assert_eq "$(answer 127.0.0.2 web6.test 1 connected)" "$F4" "connected UDP gets the same fake answer again"
assert_eq "$(answer "$DNS_SRV6" web4.test 28 tcp)" "$F6" "TCP gets the same fake answer again"
kin "$PY" "$PROBE" get "$F4" 80 hello-s6 >/dev/null || fail "connection after the restart"
pass "connections work after the restart"

log "agent stopped: the same"
agent_stop
real_dns "after SIGTERM"
fake_refused "after SIGTERM"
exit 0
