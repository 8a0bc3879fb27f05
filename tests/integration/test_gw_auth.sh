#!/bin/bash
# test_gw_auth.sh — RFC 1929 username/password at the gateway, and reloading the users file on SIGHUP.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
echo_serve "$NS_S4" "$S4_ADDR" 7
printf '# test users\nalice:%s\n\ncarol:%s\n' "$(mkpasswd -m sha-512 secret)" \
	"$(mkpasswd -m sha-512 'pa:ss w0rd')" >"$TMP/users"
gw_start --users "$TMP/users"

probe() { nsx "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 4 "$GW4_ADDR" "$GW_PORT" "$@"; }

# --- Right credentials, with real clients and the raw probe.
body=$(nsx "$NS_C4" curl -sS --max-time 10 -x "socks5h://alice:secret@$GW4_ADDR:$GW_PORT" http://web6.test/) ||
	fail "curl with alice:secret"
assert_eq "$body" "hello from s6" "curl with username/password reaches web6.test"
body=$(nsx "$NS_C6" "$PY" "$ITEST_DIR/pysocks_get.py" "$GW6_ADDR" "$GW_PORT" web6.test index.html \
	carol 'pa:ss w0rd') || fail "PySocks with carol"
assert_eq "$body" "hello from s6" "PySocks with a password holding ':' and ' ' (IPv6 client)"
out=$(probe connect web4.test 7 --user alice --password secret send:hi recv:2)
assert_contains "$out" "method 02" "username/password method chosen"
assert_contains "$out" "auth 00" "right password accepted"
assert_contains "$out" "data hi" "relayed after authentication"
assert_not_contains "$out" "bad-auth-version" "RFC 1929 reply has VER 1"
out=$(probe connect web4.test 7 --user alice --password secret --methods 0,1,2 send:hi recv:2)
assert_contains "$out" "method 02" "0x02 chosen when 0x00 is offered too (users configured)"
out=$(probe connect web4.test 7 --user alice --password secret --split send:sp recv:2)
assert_contains "$out" "data sp" "one-byte-at-a-time greeting + auth + request"
out=$(probe connect web4.test 7 --user alice --password secret --pipeline send:pipe recv:4)
assert_contains "$out" "auth 00" "pipelined greeting + auth + request answered"
assert_contains "$out" "data pipe" "data pipelined behind the auth is relayed"

# --- Wrong credentials: a failure status, then the connection closes.
expect_auth_fail()
{
	local out
	out=$(probe connect web4.test 7 "$@" send:x recv:1)
	assert_contains "$out" "method 02" "$*: method 02"
	grep -qE '^auth 0[1-9a-f]|^auth [1-9a-f]' <<<"$out" || fail "$*: no failure status: $out"
	assert_not_contains "$out" "bad-auth-version" "$*: RFC 1929 reply has VER 1"
	assert_not_contains "$out" "reply" "$*: no request processed"
	assert_contains "$out" "eof" "$*: rejected and closed"
}
expect_auth_fail --user alice --password wrong
expect_auth_fail --user alice --password secretX
expect_auth_fail --user alice --password secre
expect_auth_fail --user mallory --password secret
expect_auth_fail --user ALICE --password secret
expect_auth_fail --user carol --password secret

# --- No acceptable method: 0xFF and close.
out=$(probe connect web4.test 7)
assert_contains "$out" "method ff" "no-auth only, users configured -> 0xFF"
assert_contains "$out" "eof" "closed after 0xFF"
out=$(probe connect web4.test 7 --methods 1,3,0x80)
assert_contains "$out" "method ff" "GSSAPI and private methods only -> 0xFF"
body=$(nsx "$NS_C4" curl -sS --max-time 5 --socks5-hostname "$GW4_ADDR:$GW_PORT" http://web6.test/ 2>&1) &&
	fail "curl without credentials got through: $body"
pass "curl without credentials refused"

# --- SIGHUP reloads the users file without dropping a live connection.
spawn "$NS_C4" "$PY" "$ITEST_DIR/socks5_probe.py" -t 10 "$GW4_ADDR" "$GW_PORT" \
	connect web4.test 7 --user alice --password secret send:before recv:6 wait:"$TMP/go" send:after recv:5
LIVE_PID=$SPAWNED_PID
LIVE_LOG=$SPAWNED_LOG
wait_log "$LIVE_LOG" "data before"
pass "live connection established as alice"
printf 'bob:%s\n' "$(mkpasswd -m sha-512 hunter2)" >"$TMP/users.new"
mv "$TMP/users.new" "$TMP/users"
gw_reload
out=$(probe connect web4.test 7 --user bob --password hunter2 send:b recv:1)
assert_contains "$out" "data b" "new user accepted after SIGHUP"
expect_auth_fail --user alice --password secret
touch "$TMP/go"
wait "$LIVE_PID"
assert_contains "$(cat "$LIVE_LOG")" "data after" "connection opened before SIGHUP still relays"
kill -0 "$GW_PID" 2>/dev/null || fail "gateway exited on SIGHUP"

# A users file broken at reload time keeps the old users; the gateway keeps running.
printf 'bob:%s\nthis line has no colon\n' "$(mkpasswd -m sha-512 hunter2)" >"$TMP/users"
gw_reload
kill -0 "$GW_PID" 2>/dev/null || fail "gateway exited on a bad users file at SIGHUP"
assert_contains "$(cat "$GW_LOG")" "$TMP/users:2" "bad users file reported with FILE:LINE"
out=$(probe connect web4.test 7 --user bob --password hunter2 send:b recv:1)
assert_contains "$out" "data b" "old users kept after a failed reload"

# --- SIGHUP rereads the config file too: its `users` line can name another file.
stop_pid "$GW_PID"
printf 'dave:%s\n' "$(mkpasswd -m sha-512 d4ve)" >"$TMP/users.dave"
printf 'erin:%s\n' "$(mkpasswd -m sha-512 er1n)" >"$TMP/users.erin"
printf 'listen %s:%s\nusers %s\n' "$GW4_ADDR" "$GW_PORT" "$TMP/users.dave" >"$TMP/gw.conf"
SPAWN_NAME=gateway-conf spawn "$NS_GW" "$S46_BIN" gateway --config "$TMP/gw.conf"
GW_PID=$SPAWNED_PID
GW_LOG=$SPAWNED_LOG
wait_port "$NS_GW" "$GW4_ADDR" "$GW_PORT"
out=$(probe connect web4.test 7 --user dave --password d4ve send:d recv:1)
assert_contains "$out" "data d" "users file named by the config file"
printf 'listen %s:%s\nusers %s\n' "$GW4_ADDR" "$GW_PORT" "$TMP/users.erin" >"$TMP/gw.conf"
gw_reload
out=$(probe connect web4.test 7 --user erin --password er1n send:e recv:1)
assert_contains "$out" "data e" "SIGHUP applies the config file's new users line"
expect_auth_fail --user dave --password d4ve
printf 'listen %s:%s\nusers %s\nbogus-key 1\n' "$GW4_ADDR" "$GW_PORT" "$TMP/users.dave" >"$TMP/gw.conf"
gw_reload
kill -0 "$GW_PID" 2>/dev/null || fail "gateway exited on a bad config file at SIGHUP"
assert_contains "$(cat "$GW_LOG")" "$TMP/gw.conf:3" "bad config at reload reported with FILE:LINE"
out=$(probe connect web4.test 7 --user erin --password er1n send:e recv:1)
assert_contains "$out" "data e" "previous configuration kept after a failed reload"

# --- A DES crypt hash checks 8 bytes of a password ("passwordEXTRA" passes for "password"):
# refused at start with FILE:LINE and exit status 1. Weak methods start, with a warning.
stop_pid "$GW_PID"
printf '# old users\nold:%s\n' "$(mkpasswd -m descrypt password)" >"$TMP/users.des"
timeout 10 ip netns exec "$NS_GW" "$S46_BIN" gateway --listen "$GW4_ADDR:$GW_PORT" \
	--users "$TMP/users.des" >"$TMP/des.out" 2>"$TMP/des.err"
assert_eq "$?" 1 "DES users file: exit status 1"
assert_eq "$(grep -c . "$TMP/des.err")" 1 "DES users file: exactly one line on stderr"
assert_contains "$(cat "$TMP/des.err")" \
	"socks46 gateway: $TMP/users.des:2: user 'old': a DES crypt hash checks only the first 8 bytes" \
	"DES users file: the error names FILE:LINE and the user"
printf 'md:%s\ngood:%s\n' "$(mkpasswd -m md5crypt m5)" "$(mkpasswd -m yescrypt y3s)" >"$TMP/users.md5"
gw_start --users "$TMP/users.md5"
assert_contains "$(cat "$GW_LOG")" "$TMP/users.md5:1: user 'md': weak password hash: md5crypt" \
	"md5crypt user: warning with FILE:LINE"
assert_not_contains "$(cat "$GW_LOG")" "user 'good'" "no warning for a yescrypt user"
out=$(probe connect web4.test 7 --user md --password m5 send:m recv:1)
assert_contains "$out" "data m" "a weak hash still logs in"
