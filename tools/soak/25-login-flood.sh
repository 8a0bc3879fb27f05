#!/bin/bash
# 25-login-flood.sh — 2,000 abandoned logins then 500 held ones from one address; logins from another address meanwhile.
# Sourced by tools/soak.sh. SOAK_LOGINS: abandoned (default 2000); SOAK_HELD: held (default 500).
N=${SOAK_LOGINS:-2000}
M=${SOAK_HELD:-500}

printf 'alice:%s\n' "$(mkpasswd -m yescrypt secret)" >"$TMP/soak.users"
soak_gw --users "$TMP/soak.users"
t0=$(soak_ms)
spawn "$NS_C4" "$PY" "$ITEST_DIR/login_flood.py" "$GW4_ADDR" "$GW_PORT" alice secret \
	--abandon "$N" --abandon-user mallory --hold "$M" -t 60
FLOOD_PID=$SPAWNED_PID
FLOOD_LOG=$SPAWNED_LOG
# Logins from c6 while c4 floods: each timed on its own.
ok=0 times=()
for _ in $(seq 10); do
	t=$(nsx "$NS_C6" curl -sS -o /dev/null --max-time 15 -w '%{time_total}' \
		-x "socks5h://alice:secret@[$GW6_ADDR]:$GW_PORT" http://web6.test/ 2>/dev/null) && ok=$((ok + 1))
	times+=("${t:-fail}")
done
soak_say "during the flood, from another address: $ok/10 logins ok, seconds: ${times[*]}"
wait "$FLOOD_PID"
soak_say "flood from $C4_ADDR: $(cat "$FLOOD_LOG") ($(($(soak_ms) - t0)) ms)"
soak_say "gateway log: abandoned logins hashed $(log_count "$GW_LOG" 'user=mallory .*result="authentication failed"')," \
	"dropped at hang-up $(log_count "$GW_LOG" 'user=mallory .*result="client (closed during authentication|read)')," \
	"shed $(log_count "$GW_LOG" 'result="login shed')"
grep -E 'authentication queue full' "$GW_LOG" | tail -n 1 | cut -c1-200 | while read -r l; do soak_say "gateway log: $l"; done
