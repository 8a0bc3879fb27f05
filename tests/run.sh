#!/bin/sh
# run.sh — runs test executables, shows the output of failures, ends with "N passed, N failed".
# usage: tests/run.sh SUITE TEST...   (S46_TEST_TIMEOUT seconds per test, default 300)
# A test that exits 77 is skipped (what it needs is missing here): its last line says why,
# and the summary counts it (", N skipped"). Lines a test prints starting "bench: " (figures,
# not verdicts) are shown when it passes.
suite=$1
shift
pass=0
fail=0
skip=0
failed=""
log=$(mktemp)
for t in "$@"; do
	name=$(basename "$t")
	start=$(date +%s)
	if timeout -k 5 "${S46_TEST_TIMEOUT:-300}" "$t" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf '  PASS  %s/%s (%ss)\n' "$suite" "$name" $(($(date +%s) - start))
		# Figures a test measured (not pass/fail) are shown even when it passes.
		grep '^bench: ' "$log" | sed 's/^/    /'
	else
		rc=$?
		if [ "$rc" = 77 ]; then
			skip=$((skip + 1))
			printf '  SKIP  %s/%s: %s\n' "$suite" "$name" "$(tail -n 1 "$log")"
			continue
		fi
		fail=$((fail + 1))
		failed="$failed $name"
		printf '  FAIL  %s/%s (exit %s)\n' "$suite" "$name" "$rc"
		sed 's/^/    | /' "$log" | tail -n 80
	fi
done
rm -f "$log"
[ -n "$failed" ] && printf '%s failures:%s\n' "$suite" "$failed"
if [ "$skip" -gt 0 ]; then
	printf '%s: %d passed, %d failed, %d skipped\n' "$suite" "$pass" "$fail" "$skip"
else
	printf '%s: %d passed, %d failed\n' "$suite" "$pass" "$fail"
fi
[ "$fail" -eq 0 ]
