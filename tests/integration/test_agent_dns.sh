#!/bin/bash
# test_agent_dns.sh — the agent's fake-IP DNS with real clients in a redirected cgroup, raw queries, status, restart.
. "$(dirname "$0")/lib.sh"

Q=$ITEST_DIR/agent_dns_query.py
CTL=$TMP/agent.sock
STATE=$TMP/fakeip.state
TTL=120

topo_up
gw_start
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
echo_serve "$NS_S6" "$S6_ADDR" 7
CG=$(cg_make apps)

# agent_start: the agent in c4 redirecting $CG; the real resolver is dnsmasq in gw.
agent_start()
{
	agent_spawn "$NS_C4" dns "$CTL" --gateway "$GW4_ADDR:$GW_PORT" --cgroup "$CG" --no-pin \
		--fake-state "$STATE" --fake-ttl "$TTL" --dns-upstream "$GW4_ADDR" \
		--no-fake corp.test --log-level debug
	DNS_PORT=$(jget dns_port) || fail "no status from the agent"
	[ "$DNS_PORT" -gt 0 ] || fail "no DNS port"
}

# status_json: `socks46 status --json` run in c4, so sock_diag sees the programs' sockets.
status_json() { NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" status --json --control "$CTL"; }

# jget KEY.PATH: one value from the status JSON (of the CLI: it is under test too).
jget() { status_json | "$PY" "$ITEST_DIR/agent_ctl.py" - "$1"; }

# q ARGS...: a raw query to the responder from c4, outside the cgroup.
q() { nsx "$NS_C4" "$PY" "$Q" "$@"; }

# inc CMD...: run CMD in c4 inside the redirected cgroup (its /etc/resolv.conf names gw).
inc() { IN_CG=$CG nsx "$NS_C4" "$@"; }

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

agent_start

log "raw queries straight to the responder on 127.0.0.1:$DNS_PORT"
r=$(q 127.0.0.1 "$DNS_PORT" web6.test A)
assert_contains "$r" "rcode=0 tc=0 ra=1 id=ok question=ok" "A query answered, ID and question echoed, RA set"
F4=$(field "$r" ans)
case $F4 in 198.1[89].*) pass "A gets a fake IPv4 address ($F4)" ;; *) fail "A answer '$F4'" ;; esac
assert_eq "$(field "$r" ttl)" "$TTL" "TTL is the configured fake TTL"
r=$(q 127.0.0.1 "$DNS_PORT" web4.test AAAA)
F6=$(field "$r" ans)
case $F6 in 2001:2:*) pass "AAAA gets a fake IPv6 address ($F6) for an IPv4-only name" ;; *) fail "AAAA answer '$F6'" ;; esac
r=$(q --edns 1232 127.0.0.1 "$DNS_PORT" dual.test A)
assert_eq "$(field "$r" opt)" 1232 "EDNS0: the OPT record is echoed with our payload size"
r=$(q --tcp 127.0.0.1 "$DNS_PORT" web6.test A)
assert_eq "$(field "$r" ans)" "$F4" "DNS over TCP gives the same fake address"
r=$(q ::1 "$DNS_PORT" web6.test A)
assert_eq "$(field "$r" ans)" "$F4" "the responder answers on ::1 too"
r=$(q 127.0.0.1 "$DNS_PORT" nothere.corp.test A)
assert_contains "$r" "rcode=3 " "an excluded name goes to the real resolver: NXDOMAIN passes through"
assert_contains "$r" "id=ok question=ok" "the forwarded answer carries the client's ID and question"
r=$(q --tcp 127.0.0.1 "$DNS_PORT" nothere.corp.test A)
assert_contains "$r" "rcode=3 " "excluded name over TCP: forwarded over TCP"
r=$(q 127.0.0.1 "$DNS_PORT" web6.test MX)
assert_contains "$r" "rcode=0 " "other query types are forwarded (dnsmasq answers NODATA)"
assert_contains "$(cat "$DNS_LOG")" "query[MX] web6.test" "dnsmasq saw the MX query"
assert_not_contains "$(cat "$DNS_LOG")" "query[A] web6.test" "the faked name never reached the real resolver"
# A header (ID 0x1234, RD) announcing a question that is cut short.
r=$(q --raw 123401000001000000000000047765 127.0.0.1 "$DNS_PORT")
assert_eq "$r" 123481810000000000000000 "a malformed query gets FORMERR with its ID"
r=$(q --timeout 0.5 --raw 1234 127.0.0.1 "$DNS_PORT")
assert_eq "$r" timeout "a message without a header is dropped"
nsx "$NS_C4" "$PY" - "$DNS_PORT" <<-'EOF' || fail "random input"
	import os, random, socket, sys, struct
	port = int(sys.argv[1])
	random.seed(46)
	u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	for i in range(3000):
	    # Random bytes, and mutated real queries that get past the header.
	    if i % 2:
	        m = os.urandom(random.randint(0, 600))
	    else:
	        m = bytearray(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x04web6\x04test\x00\x00\x01\x00\x01"
	                      b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")
	        for _ in range(random.randint(1, 4)):
	            m[random.randrange(len(m))] = random.randrange(256)
	        m = bytes(m[:random.randint(12, len(m))])
	    u.sendto(m, ("127.0.0.1", port))
	for i in range(20):
	    t = socket.create_connection(("127.0.0.1", port), timeout=2)
	    t.sendall(struct.pack("!H", random.randint(0, 65535)) + os.urandom(random.randint(0, 3000)))
	    t.close()
	EOF
r=$(q 127.0.0.1 "$DNS_PORT" web4.test A)
assert_contains "$r" "rcode=0 " "still answering after malformed and random input on UDP and TCP"

log "unmodified programs in the cgroup: their port-53 traffic to gw ($GW4_ADDR) reaches the agent"
out=$(inc busybox nslookup web6.test "$GW4_ADDR" 2>&1)
assert_contains "$out" "$F4" "busybox nslookup gets the fake IPv4 address"
assert_contains "$out" "2001:2:" "busybox nslookup gets a fake IPv6 address as well"
out=$(inc getent ahostsv4 web6.test)
assert_contains "$out" "$F4" "getent ahostsv4 (glibc, connected UDP) gets the same fake address"
out=$(inc "$PY" -c 'import socket
print(socket.getaddrinfo("web4.test", 80, socket.AF_INET6, socket.SOCK_STREAM)[0][4][0])')
assert_eq "$out" "$F6" "python getaddrinfo AF_INET6 gets the fake IPv6 address"
out=$(inc getent ahostsv4 nothere.corp.test)
assert_eq "$?:$out" "2:" "an excluded name that does not exist fails cleanly"
out=$(inc getent ahostsv4 localhost)
assert_contains "$out" "127.0.0.1" "localhost still resolves locally"

log "a program's connection through the gateway, as status shows it"
out=$(inc curl -4 -sS --max-time 5 http://web6.test/)
assert_eq "$out" "hello from s6" "curl -4 fetches a page from the IPv6-only server by name"
SPAWN_NAME=holder IN_CG=$CG spawn "$NS_C4" "$PY" -c 'import socket, sys, time
s = socket.create_connection(("web6.test", 7))
print("connected", flush=True)
time.sleep(20)'
HOLDER=$SPAWNED_PID
wait_log "$SPAWNED_LOG" connected 1 5
# The agent's side of the connection is up once status lists its owner.
holder_listed() { [ "$(jget connections.0.owner_pid 2>/dev/null)" = "$HOLDER" ]; }
wait_for 5 holder_listed
assert_eq "$(jget connections.0.owner_pid)" "$HOLDER" "status finds the program's pid through sock_diag"
assert_eq "$(jget connections.0.comm)" python3 "status names the program"
assert_eq "$(jget connections.0.target)" web6.test:7 "the connection went to the gateway by name"
hostview=$("$S46_BIN" status --json --control "$CTL" | $PY -c 'import json, sys
print(json.load(sys.stdin)["connections"][0].get("owner_pid"))')
assert_eq "$hostview" "$HOLDER" "status run outside the agent's namespace looks inside it"
out=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" status --control "$CTL")
printf '%s\n' "$out" | sed 's/^/    /'
assert_contains "$out" "$HOLDER" "human status lists the pid"
assert_contains "$out" "web6.test" "human status lists the fake-IP table"
assert_contains "$out" "dns_faked" "human status lists the counters"
refs=$(status_json | $PY -c 'import json, sys
s = json.load(sys.stdin)
orig = s["connections"][0]["orig"].rsplit(":", 1)[0].strip("[]")
print([e["refs"] for e in s["fakeip"] if e["addr"] == orig and e["name"] == "web6.test"][0])')
assert_eq "$refs" 1 "the live connection holds the fake-IP entry it connected to"
stop_pid "$HOLDER"

log "the table survives an agent restart"
stop_pid "$AGENT_PID"
grep -q web6.test "$STATE" || fail "state file lacks web6.test"
pass "state file written at exit"
agent_start
r=$(q 127.0.0.1 "$DNS_PORT" web6.test A)
assert_eq "$(field "$r" ans)" "$F4" "web6.test keeps its fake IPv4 address"
r=$(q 127.0.0.1 "$DNS_PORT" web4.test AAAA)
assert_eq "$(field "$r" ans)" "$F6" "web4.test keeps its fake IPv6 address"
out=$(inc curl -4 -sS --max-time 5 "http://$F4/")
assert_eq "$out" "hello from s6" "a cached fake address still reaches its server after the restart"

log "status without an agent"
out=$("$S46_BIN" status --control "$TMP/none.sock" 2>&1)
assert_eq "$?" 1 "status exits 1 when no agent listens"
assert_contains "$out" "socks46 status: no agent running (nothing listens on" "and says so in one line"
exit 0
