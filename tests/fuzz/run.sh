#!/bin/sh
# run.sh — runs each libFuzzer binary for SECONDS from a seed corpus, ends with "fuzz: N passed, N failed".
# usage: tests/fuzz/run.sh SECONDS BIN...
secs=${1:?usage: run.sh SECONDS BIN...}
shift
pass=0
fail=0
here=$(cd "$(dirname "$0")" && pwd)
for bin in "$@"; do
	name=$(basename "$bin")
	dir=$(dirname "$bin")/corpus/$name
	mkdir -p "$dir" "$dir.crashes"
	# Seeds are generated here: a small script per harness, if there is one.
	[ -x "$here/seed_$name.sh" ] && "$here/seed_$name.sh" "$dir"
	log=$(mktemp)
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$dir.crashes/" "$dir" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf '  PASS  fuzz/%s (%ss, %s)\n' "$name" "$secs" "$(grep -o 'DONE.*\|#[0-9]*.*exec/s: [0-9]*' "$log" | tail -n 1)"
	else
		fail=$((fail + 1))
		printf '  FAIL  fuzz/%s\n' "$name"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
	rm -f "$log"
done
printf 'fuzz: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
