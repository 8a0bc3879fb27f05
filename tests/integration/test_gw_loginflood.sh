#!/bin/bash
# test_gw_loginflood.sh — a flood of logins from one address: abandoned ones are not hashed, the queue sheds the flood's own logins (RFC 1929 failure, then close) and says so, another address logs in meanwhile.
. "$(dirname "$0")/lib.sh"
set -u

topo_up
http_serve "$NS_S6" "$S6_ADDR" 80 "$TMP/www6"
# A costly hash (yescrypt at 8x its default cost), so that a queue left unbounded would be
# seconds long.
printf 'alice:%s\n' "$(mkpasswd -m yescrypt -R 7 secret)" >"$TMP/users"
gw_start --users "$TMP/users" --handshake-timeout 10
ABANDON=200
HOLD=40

# From c4: logins abandoned at once (as mallory), then logins held open for their answer.
spawn "$NS_C4" "$PY" "$ITEST_DIR/login_flood.py" "$GW4_ADDR" "$GW_PORT" alice secret \
	--abandon "$ABANDON" --abandon-user mallory --hold "$HOLD" -t 30
FLOOD_PID=$SPAWNED_PID
FLOOD_LOG=$SPAWNED_LOG
wait_log "$GW_LOG" "authentication queue full: shed [0-9]+ logins? .*latest from $C4_ADDR" 1 30
pass "the gateway says it sheds logins, and from which address"

# Meanwhile another address logs in: answered within the handshake timeout, not after the flood.
body=$(nsx "$NS_C6" curl -sS --max-time 10 -x "socks5h://alice:secret@[$GW6_ADDR]:$GW_PORT" \
	http://web6.test/) || fail "curl with alice:secret from c6 during the flood"
assert_eq "$body" "hello from s6" "a login from another address succeeds during the flood"

wait "$FLOOD_PID"
out=$(cat "$FLOOD_LOG")
log "flood: $out"
assert_contains "$out" "no reply 0," "every held login got an answer (none hangs)"
assert_contains "$out" "other 0" "every answer is RFC 1929 success, or failure and close"
# At most 8 wait per address: of 40 sent at once most are shed (how many were checked
# depends on how soon the abandoned ones' hang-ups were seen).
grep -qE 'refused [1-9]' <<<"$out" || fail "no held login was shed: $out"
pass "held logins from one address: those over the bound shed with status 0x01"
wait_log "$GW_LOG" 'user=alice .*result="login shed: authentication queue full"'
pass "a shed login is logged as such"

# Abandoned logins are dropped, not hashed: their sessions end when the client hangs up.
wait_log "$GW_LOG" 'user=mallory .*result="(client closed during authentication|client read: Connection reset by peer)"'
hashed=$(log_count "$GW_LOG" 'user=mallory .*result="authentication failed"')
[ "$hashed" -lt $((ABANDON / 4)) ] || fail "$hashed of $ABANDON abandoned logins were hashed"
pass "abandoned logins dropped unhashed ($hashed of $ABANDON hashed before the hang-up was seen)"
