#!/bin/bash
# test_man.sh — the man pages lint clean (mandoc, groff, man) and name every option of every
# command's --help and every configuration key; the example configuration is valid.
. "$(dirname "$0")/pkglib.sh"

M=$REPO/man
for page in "$M"/socks46.8 "$M"/socks46-gateway.conf.5 "$M"/socks46-agent.conf.5; do
	name=$(basename "$page")
	assert_eq "$(mandoc -T lint -W style "$page" 2>&1)" "" "$name: mandoc -T lint -W style"
	assert_eq "$(groff -ww -man -z "$page" 2>&1)" "" "$name: groff -ww -man"
	assert_eq "$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)" "" "$name: man -l"
done

# options CMD: the long options of `socks46 CMD --help`, one a line.
options() { "$S46_BIN" "$@" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
# missing PAGE WORD...: the words PAGE does not mention (with man's \- for -).
missing()
{
	local page=$1 w
	shift
	for w in "$@"; do
		grep -qF -- "$(printf '%s' "$w" | sed 's/-/\\-/g')" "$page" || printf '%s ' "$w"
	done
}
for cmd in gateway agent run attach detach status netns; do
	# shellcheck disable=SC2046 # one word per option
	assert_eq "$(missing "$M/socks46.8" $(options $cmd))" "" "socks46.8 names every option of $cmd"
done
assert_eq "$(missing "$M/socks46.8" gateway agent run attach detach status netns version)" "" \
	"socks46.8 names every command"
for cmd in gateway agent; do
	keys=$(options $cmd | sed 's/^--//' | grep -vxE 'config|check-config|help')
	# shellcheck disable=SC2086 # one word per key
	assert_eq "$(missing "$M/socks46-$cmd.conf.5" $keys)" "" \
		"socks46-$cmd.conf.5 names every key of $cmd"
done

# The example configuration as shipped, and with every commented key line switched on
# (the files they would name, and settings that exclude each other, left out).
for cmd in gateway agent; do
	conf=$REPO/dist/$cmd.conf
	out=$("$S46_BIN" $cmd --check-config --config "$conf" 2>&1)
	assert_eq "$?:$out" "0:" "dist/$cmd.conf is valid"
	sed -E 's/^#([a-z])/\1/' "$conf" | grep -vE '^(users|password-file|user) ' >"$TMP/$cmd.conf"
	out=$("$S46_BIN" $cmd --check-config --config "$TMP/$cmd.conf" 2>&1)
	assert_eq "$?:$out" "0:" "dist/$cmd.conf: every commented key is valid"
	keys=$(sed -nE 's/^#?([a-z][a-z0-9-]*)( .*)?$/\1/p' "$conf" | sort -u)
	# shellcheck disable=SC2086 # one word per key
	assert_eq "$(missing "$M/socks46-$cmd.conf.5" $keys)" "" \
		"socks46-$cmd.conf.5 names every key of dist/$cmd.conf"
done
