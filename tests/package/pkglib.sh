# pkglib.sh — what the package tests share: the repository, a temporary directory removed on
# exit, the assertions of tests/integration/helpers.sh. Sourced; needs no root or namespaces.
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
S46_BIN=${S46_BIN:-$REPO/build/socks46}
. "$REPO/tests/integration/helpers.sh"
set -u

TMP=$(mktemp -d "/tmp/s46pkg$$.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

# pmake TARGET VAR=VALUE...: the repository's Makefile, quietly; fails the test on error.
pmake()
{
	make --no-print-directory -C "$REPO" "$@" >"$TMP/make.log" 2>&1 ||
		fail "make $*: $(tail -n 20 "$TMP/make.log")"
}

# files DIR: every file and symlink below DIR, relative, sorted.
files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }
