#!/bin/bash
# test_install.sh — make install puts every file in place (stripped binary, units, tmpfiles,
# sysusers, man pages, example configuration), keeps an existing configuration, and make
# uninstall leaves nothing behind but a configuration the administrator changed.
. "$(dirname "$0")/pkglib.sh"

R=$TMP/root
pmake install DESTDIR="$R"
want="etc/socks46/agent.conf
etc/socks46/gateway.conf
usr/local/bin/socks46
usr/local/lib/systemd/system/socks46-agent.service
usr/local/lib/systemd/system/socks46-gateway.service
usr/local/lib/systemd/system/socks46.slice
usr/local/lib/sysusers.d/socks46.conf
usr/local/lib/tmpfiles.d/socks46.conf
usr/local/share/man/man5/socks46-agent.conf.5
usr/local/share/man/man5/socks46-gateway.conf.5
usr/local/share/man/man8/socks46.8"
assert_eq "$(files "$R")" "$want" "install: the files, under PREFIX=/usr/local and /etc"
assert_contains "$(grep '^ExecStart=' "$R/usr/local/lib/systemd/system/socks46-agent.service")" \
	"ExecStart=/usr/local/bin/socks46 agent" "install: units name the installed binary"
assert_eq "$(readelf -S "$R/usr/local/bin/socks46" | grep -c '\.symtab')" 0 "install: binary stripped"
assert_eq "$(readelf -S "$S46_BIN" | grep -c '\.symtab')" 1 "install: build/socks46 keeps its symbols"
assert_eq "$("$R/usr/local/bin/socks46" --version)" "socks46 $(cat "$REPO/VERSION")" \
	"install: the installed binary runs"

# The administrator's configuration survives a second install and the uninstall.
echo "listen 127.0.0.1:1081" >"$R/etc/socks46/gateway.conf"
pmake install DESTDIR="$R"
assert_eq "$(cat "$R/etc/socks46/gateway.conf")" "listen 127.0.0.1:1081" \
	"install: an existing configuration file is not replaced"
pmake uninstall DESTDIR="$R"
assert_eq "$(files "$R")" "etc/socks46/gateway.conf" \
	"uninstall: everything removed but the changed configuration"
rm "$R/etc/socks46/gateway.conf"

# Unchanged example configuration goes too, and so does /etc/socks46.
pmake install DESTDIR="$R" PREFIX=/usr UNITDIR=/lib/systemd/system
assert_contains "$(files "$R")" "lib/systemd/system/socks46.slice" "install: UNITDIR"
pmake uninstall DESTDIR="$R" PREFIX=/usr UNITDIR=/lib/systemd/system
assert_eq "$(files "$R")" "" "uninstall: nothing left behind"
[ -e "$R/etc/socks46" ] && fail "uninstall: /etc/socks46 left behind"
pass "uninstall: /etc/socks46 removed"
