#!/bin/bash
# test_agent_auth.sh — agent from a config file: RFC 1929 towards the gateway, a dead gateway skipped, bad credentials fail fast.
. "$(dirname "$0")/lib.sh"

topo_up
mkdir -p "$TMP/www6"
printf 'hello from s6 with auth\n' >"$TMP/www6/index.html"
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
printf 'alice:%s\n' "$(mkpasswd -m sha-512 's3cret pass')" >"$TMP/users"
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
assert_eq "$?:$err" "2:socks46 agent: --gateway HOST:PORT is required" "no gateway"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --gateway "$GW4_ADDR:1080" --via-gateway 1.2.3.4/40 2>&1)
assert_eq "$?:$err" "2:socks46 agent: --via-gateway: '1.2.3.4/40' is not an address or CIDR prefix" "bad prefix"
printf 'gateway %s:1080\nfrobnicate yes\n' "$GW4_ADDR" >"$TMP/bad.conf"
err=$(NS_KEEP_FS=1 nsx "$NS_C4" "$S46_BIN" agent --config "$TMP/bad.conf" 2>&1)
assert_eq "$?:$err" "1:socks46 agent: $TMP/bad.conf:2: unknown key 'frobnicate'" "bad config line"

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
stop_pid "$A_PID"

agent_up bad "$TMP/badpw"
log "wrong credentials: the program's connection fails at once"
# curl exits 7 or 56 on the agent's reset (before or after it checked its connect), 28 on a
# timeout (--max-time is only a hang guard).
rc=0
IN_CG=$CG nsx "$NS_C4" curl -4 -sS --max-time 10 http://web6.test/ >/dev/null 2>&1 || rc=$?
case $rc in 7 | 56) pass "bad credentials: a reset (curl exit $rc), not a timeout" ;;
*) fail "bad credentials: curl exit $rc, not 7 or 56" ;; esac
exit 0
