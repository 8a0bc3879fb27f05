#!/bin/bash
# 20-abandoned-logins.sh — 2,000 greetings with a login, each abandoned at once; a legitimate login meanwhile.
# Sourced by tools/soak.sh. SOAK_LOGINS: how many (default 2000).
N=${SOAK_LOGINS:-2000}

printf 'alice:%s\n' "$(mkpasswd -m yescrypt secret)" >"$TMP/soak.users"
soak_gw --users "$TMP/soak.users"
soak_curl "before (login)" 2 --proxy-user alice:secret
t0=$(soak_ms)
out=$(nsx "$NS_C4" "$PY" "$SOAK_DIR/abandon_logins.py" "$GW4_ADDR" "$GW_PORT" "$N" alice wrong)
soak_say "flood: $out"
soak_curl "right after (login)" 5 --proxy-user alice:secret
soak_say "gateway log: abandoned logins hashed $(log_count "$GW_LOG" 'result="authentication failed"')," \
	"dropped at hang-up $(log_count "$GW_LOG" 'result="client (closed during authentication|read)')," \
	"shed $(log_count "$GW_LOG" 'result="login shed')"
login_ok()
{
	nsx "$NS_C4" curl -sS -o /dev/null --max-time 15 --socks5-hostname "$GW4_ADDR:$GW_PORT" \
		--proxy-user alice:secret http://web6.test/ 2>/dev/null
}
if wait_for 300 login_ok; then
	soak_say "logins work again $(($(soak_ms) - t0)) ms after the flood began"
else
	soak_say "logins still fail $(($(soak_ms) - t0)) ms after the flood began"
fi
