#!/bin/bash
# test_agent_auth.sh — agent from a config file: RFC 1929 towards the gateway, a dead gateway skipped, bad credentials fail fast.
. "$(dirname "$0")/lib.sh"

topo_up
mkdir -p "$TMP/www6"
printf 'hello from s6 with auth\n' >"$TMP/www6/index.html"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
printf 'alice:%s\n' "$(mkpasswd -m sha-512 's3cret pass')" >"$TMP/users"
# The gateway's host takes TCP Fast Open (bit 0x2; clients have 0x1 by default): the agent's
# greeting, login and request then ride in the SYN.
nsx "$NS_GW" sysctl -qw net.ipv4.tcp_fastopen=3 || fail "net.ipv4.tcp_fastopen in $NS_GW"
gw_start --users "$TMP/users"
CG=$(cg_make app)
printf 's3cret pass\n' >"$TMP/pw"
printf 'wrong\n' >"$TMP/badpw"

# agent_conf NAME PWFILE: a config file; 198.51.100.9 does not exist (nothing answers there).
agent_conf()
{
	cat >"$TMP/$1.conf" <<-EOF
		# socks46 agent test configuration
		gateway 198.51.100.9:1080
		gateway $GW4_ADDR:$GW_PORT
		connect-timeout 400
		# The connections, not the health checks, find the dead gateway here.
		health-interval 0
		user alice
		password-file $2
		cgroup $CG
		no-pin
		fake-state none
		dns-upstream $GW4_ADDR
	EOF
}

# agent_up NAME PWFILE: an agent in c4 from that configuration.
agent_up()
{
	agent_conf "$1" "$2"
	agent_spawn "$NS_C4" "$1" "$TMP/$1.sock" --config "$TMP/$1.conf"
}

log "bad options are one clear line and exit status 2, a bad configuration file 1"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent 2>&1)
assert_eq "$?:$err" "2:socks46 agent: --gateway HOST:PORT or --handoff PATH is required" "no gateway"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --gateway "$GW4_ADDR:1080" --via-gateway 1.2.3.4/40 2>&1)
assert_eq "$?:$err" "2:socks46 agent: --via-gateway: '1.2.3.4/40' is not an address or CIDR prefix" "bad prefix"
printf 'gateway %s:1080\nfrobnicate yes\n' "$GW4_ADDR" >"$TMP/bad.conf"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --config "$TMP/bad.conf" 2>&1)
assert_eq "$?:$err" "1:socks46 agent: $TMP/bad.conf:2: unknown key 'frobnicate'" "bad config line"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --gateway "$GW4_ADDR:1080" --frobnicate 2>&1)
assert_eq "$?:$err" "2:socks46 agent: unknown option '--frobnicate' (try socks46 agent --help)" "unknown option"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --gateway "$GW4_ADDR:1080" --unit 'a/b' 2>&1)
assert_eq "$?:$err" "2:socks46 agent: --unit: 'a/b' is not a unit name (NAME.service, .scope or .slice)" "bad unit name"
# `ip netns exec` (nsx without NS_KEEP_FS) mounts a /sys without the cgroup2 file system.
err=$(nsx "$NS_C4" "$S46_BIN" agent --gateway "$GW4_ADDR:1080" --cgroup "$CG" --control "$TMP/x.sock" 2>&1)
assert_eq "$?" 1 "no cgroup2 mount: exit status 1"
assert_contains "$err" "socks46 agent: cgroup $CG: no cgroup2 file system is mounted here" "no cgroup2 mount: says so"
assert_contains "$err" "nsenter --net" "no cgroup2 mount: says what to do"

log "--check-config reads everything, starts nothing"
agent_conf check "$TMP/pw"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --config "$TMP/check.conf" --check-config 2>&1)
assert_eq "$?:$err" "0:" "a valid configuration: silent, exit 0"
agent_conf check "$TMP/nonexistent.pw"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --config "$TMP/check.conf" --check-config 2>&1)
assert_eq "$?:$err" "1:socks46 agent: password-file $TMP/nonexistent.pw: No such file or directory" \
	"a missing password file: one line, exit 1"

agent_up good "$TMP/pw"
A_PID=$AGENT_PID
log "RFC 1929 towards the gateway, after skipping a gateway that does not answer"
body=$(IN_CG=$CG nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/) || fail "curl through an authenticating gateway"
assert_eq "$body" "hello from s6 with auth" "curl -4 reached web6.test with RFC 1929"
assert_contains "$(cat "$GW_LOG")" "user=alice" "the gateway saw user alice"
body=$(IN_CG=$CG nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/) || fail "second curl"
failures=$("$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/good.sock" gateways.0.failures gateways.1.failures | tr '\n' ' ')
failures=${failures% }
assert_eq "$failures" "1 0" "the dead gateway was tried once, then skipped for later connections"
# The first connection fetched a Fast Open cookie; a later one sent its handshake in the SYN.
tfo=$(nsx "$NS_GW" nstat -asz TcpExtTCPFastOpenPassive | awk '$1 == "TcpExtTCPFastOpenPassive" { print $2 }')
[ "${tfo:-0}" -ge 1 ] || fail "no connection reached the gateway with TCP Fast Open data (${tfo:-none})"
pass "greeting, login and request reached the gateway in the SYN ($tfo Fast Open connections)"

log "a second agent on the same control socket stops before binding its ports"
# Same ports as the running agent: had it bound first, it would fail on the proxy port.
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --config "$TMP/good.conf" --control "$TMP/good.sock" 2>&1)
assert_eq "$?:$err" "1:socks46 agent: control socket $TMP/good.sock: another agent is running there" \
	"another agent on the control socket"
kill -0 "$A_PID" || fail "the running agent died"
# A start that fails after its DNS responder and fake-IP table are up unwinds: one line,
# exit status 1 (and, in the sanitizer build, nothing leaked).
port=$("$PY" "$ITEST_DIR/agent_ctl.py" "$TMP/good.sock" proxy_port)
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --config "$TMP/good.conf" --control "$TMP/busy.sock" \
	--proxy-port "$port" --dns-port 0 2>&1)
assert_eq "$?:$err" "1:socks46 agent: proxy on 127.0.0.1:$port: Address already in use" \
	"a proxy port in use: one line, exit status 1"
kill -0 "$A_PID" || fail "the running agent died"
stop_pid "$A_PID"

log "an agent whose gateways do not answer says so"
printf 'gateway 198.51.100.9:1080\nconnect-timeout 400\nno-pin\nfake-state none\n' >"$TMP/dead.conf"
agent_spawn "$NS_C4" dead "$TMP/dead.sock" --config "$TMP/dead.conf"
wait_log "$AGENT_LOG" 'warn: no gateway answers \(1 configured\)'
pass "warned: no gateway answers"
stop_pid "$AGENT_PID"

agent_up bad "$TMP/badpw"
log "wrong credentials: the program's connection fails at once"
# curl exits 7 or 56 on the agent's reset (before or after it checked its connect), 28 on a
# timeout (--max-time is only a hang guard).
rc=0
IN_CG=$CG nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/ >/dev/null 2>&1 || rc=$?
case $rc in 7 | 56) pass "bad credentials: a reset (curl exit $rc), not a timeout" ;;
*) fail "bad credentials: curl exit $rc, not 7 or 56" ;; esac
wait_log "$AGENT_LOG" "warn: gateway $GW4_ADDR:$GW_PORT refuses the agent's login"
wait_log "$AGENT_LOG" "warn: gateway $GW4_ADDR:$GW_PORT skipped for web6.test:80: authentication refused"
pass "a refused login is a warning, at start and for the connection"
exit 0
