# helpers.sh — assertions, polling and cgroup2 lookup without side effects; sourced by lib.sh and tests/kernel/klib.sh.
# Sourcing it only defines functions: no directories, namespaces, processes or traps.

log() { printf '# %s\n' "$*"; }
pass() { printf '  ok   %s\n' "$*"; }
fail()
{
	FAIL_MSG=$*
	printf 'FAIL: %s\n' "$*"
	exit 1
}

# assert_eq ACTUAL EXPECTED MSG
assert_eq()
{
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
	pass "$3"
}

# assert_contains HAYSTACK NEEDLE MSG
assert_contains()
{
	case $1 in
	*"$2"*) pass "$3" ;;
	*) fail "$3: '$2' not found in '$(printf '%s' "$1" | head -c 400)'" ;;
	esac
}

assert_not_contains()
{
	case $1 in
	*"$2"*) fail "$3: '$2' unexpectedly found in '$(printf '%s' "$1" | head -c 400)'" ;;
	*) pass "$3" ;;
	esac
}

# cg_root: the cgroup2 mount point (not always /sys/fs/cgroup).
cg_root()
{
	# Optional fields precede the "-" separator; the fs type follows it.
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break;
		if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}

# wait_for TIMEOUT CMD...: poll CMD (every WAIT_STEP seconds, default 0.05) until it
# succeeds; returns 1 if it still fails after TIMEOUT seconds (a hang guard: on success it
# returns at once).
wait_for()
{
	local end
	end=$(($(date +%s%N) + ${1%.*} * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep "${WAIT_STEP:-0.05}"
	done
}

# log_count FILE REGEX: how many lines of FILE match (grep -E).
log_count() { grep -cE -- "$2" "$1"; }

# wait_log FILE REGEX [MIN] [TIMEOUT]: wait until at least MIN (default 1)
# lines of FILE match; fails the test after TIMEOUT (default 10) seconds.
wait_log()
{
	local file=$1 re=$2 min=${3:-1} tmo=${4:-10}
	_log_has() { [ "$(log_count "$file" "$re")" -ge "$min" ]; }
	wait_for "$tmo" _log_has || fail "no line /$re/ (want $min) in $(basename "$file") after ${tmo}s"
}
