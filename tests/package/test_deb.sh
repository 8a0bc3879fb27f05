#!/bin/bash
# test_deb.sh — make deb builds the package with Debian's tools out of tree, lintian finds no
# error, and the package holds the expected files, conffiles, dependencies and scripts.
. "$(dirname "$0")/pkglib.sh"

before=$(git -C "$REPO" status --porcelain 2>/dev/null)
pmake deb
V=$(cat "$REPO/VERSION")
DEB=$REPO/build/socks46_${V}_$(dpkg --print-architecture).deb
[ -f "$DEB" ] || fail "make deb: no $DEB"
pass "make deb: $(basename "$DEB")"
assert_eq "$(git -C "$REPO" status --porcelain 2>/dev/null)" "$before" "make deb: the source tree stays clean"
# A second run has nothing to do.
make --no-print-directory -C "$REPO" deb >"$TMP/again.log" 2>&1 || fail "make deb again"
assert_eq "$(grep -c DEB "$TMP/again.log")" 0 "make deb: nothing rebuilt when nothing changed"

lintian --no-tag-display-limit "$DEB" >"$TMP/lintian.out" 2>&1
assert_eq "$(grep '^E:' "$TMP/lintian.out")" "" "lintian: no errors"
grep '^W:' "$TMP/lintian.out" | sed 's/^/# /'

list=$(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort)
for f in /usr/bin/socks46 /lib/systemd/system/socks46-gateway.service \
	/lib/systemd/system/socks46-agent.service /lib/systemd/system/socks46.slice \
	/usr/lib/sysusers.d/socks46.conf /usr/lib/tmpfiles.d/socks46.conf \
	/etc/socks46/gateway.conf /etc/socks46/agent.conf /usr/share/man/man8/socks46.8.gz \
	/usr/share/man/man5/socks46-gateway.conf.5.gz /usr/share/man/man5/socks46-agent.conf.5.gz \
	/usr/share/doc/socks46/copyright; do
	assert_contains "$list" "$f" "dpkg-deb -c: $f"
done
assert_contains "$(grep '^ExecStart=' <(dpkg-deb --fsys-tarfile "$DEB" |
	tar -xO ./lib/systemd/system/socks46-gateway.service))" "/usr/bin/socks46 gateway" \
	"the packaged units run /usr/bin/socks46"

mkdir "$TMP/ctl"
dpkg-deb -e "$DEB" "$TMP/ctl"
assert_eq "$(sort "$TMP/ctl/conffiles" | tr '\n' ' ')" "/etc/socks46/agent.conf /etc/socks46/gateway.conf " \
	"conffiles: the configuration"
dep=$(dpkg-deb -f "$DEB" Depends)
for p in libbpf1 libmnl0 libc-ares2 libcrypt1 libc6; do
	assert_contains "$dep" "$p" "Depends: $p"
done
assert_contains "$(cat "$TMP/ctl/postinst")" "systemd-sysusers" "postinst: creates _socks46"
assert_contains "$(cat "$TMP/ctl/postinst")" "systemd-tmpfiles" "postinst: creates the directories"
assert_contains "$(cat "$TMP/ctl/postinst")" "socks46-agent.service" "postinst: enables the units"
