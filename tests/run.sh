#!/bin/sh
# run.sh — runs test executables, shows the output of failures, ends with "N passed, N failed".
# usage: tests/run.sh SUITE TEST...   (S46_TEST_TIMEOUT seconds per test, default 300)
suite=$1
shift
pass=0
fail=0
failed=""
log=$(mktemp)
for t in "$@"; do
	name=$(basename "$t")
	start=$(date +%s)
	if timeout -k 5 "${S46_TEST_TIMEOUT:-300}" "$t" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf '  PASS  %s/%s (%ss)\n' "$suite" "$name" $(($(date +%s) - start))
	else
		rc=$?
		fail=$((fail + 1))
		failed="$failed $name"
		printf '  FAIL  %s/%s (exit %s)\n' "$suite" "$name" "$rc"
		sed 's/^/    | /' "$log" | tail -n 80
	fi
done
rm -f "$log"
[ -n "$failed" ] && printf '%s failures:%s\n' "$suite" "$failed"
printf '%s: %d passed, %d failed\n' "$suite" "$pass" "$fail"
[ "$fail" -eq 0 ]
