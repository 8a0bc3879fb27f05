#!/bin/bash
# test_units.sh — systemd-analyze verify on the installed units; the sysusers and tmpfiles
# files applied to an empty root by systemd's own tools; the hardening each unit promises.
. "$(dirname "$0")/pkglib.sh"

# Installed into TMP itself (no DESTDIR), so ExecStart= names a binary that exists.
P=$TMP/usr
pmake install PREFIX="$P" SYSCONFDIR="$TMP/etc"
U=$P/lib/systemd/system
out=$(MANPATH=$P/share/man systemd-analyze verify "$U/socks46-gateway.service" \
	"$U/socks46-agent.service" "$U/socks46.slice" 2>&1)
rc=$?
assert_eq "$rc:$out" "0:" "systemd-analyze verify: no complaint (man pages found too)"

# unit_prop UNIT KEY: the values of KEY in UNIT, one line.
unit_prop() { sed -n "s/^$2=//p" "$U/$1" | tr '\n' ' ' | sed 's/ $//'; }
for u in socks46-gateway.service socks46-agent.service; do
	assert_eq "$(unit_prop $u Type)" notify "$u: Type=notify"
	assert_contains "$(unit_prop $u ExecStartPre)" "--check-config" "$u: configuration checked first"
	for k in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK" Restart=on-failure; do
		assert_eq "$(unit_prop $u "${k%%=*}")" "${k#*=}" "$u: $k"
	done
done
assert_eq "$(unit_prop socks46-gateway.service User)" _socks46 "gateway: runs as _socks46"
assert_eq "$(unit_prop socks46-gateway.service CapabilityBoundingSet)" "" "gateway: no capabilities"
assert_eq "$(unit_prop socks46-agent.service CapabilityBoundingSet)" \
	"CAP_BPF CAP_NET_ADMIN CAP_PERFMON" "agent: CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON only"
assert_eq "$(unit_prop socks46-agent.service RuntimeDirectory)" socks46 "agent: /run/socks46"
assert_eq "$(unit_prop socks46-agent.service StateDirectory)" socks46 "agent: /var/lib/socks46"
for u in socks46-gateway.service socks46-agent.service; do
	exp=$(systemd-analyze security --offline=yes "$U/$u" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	awk -v e="$exp" 'BEGIN { exit !(e != "" && e < 3.0) }' ||
		fail "$u: systemd-analyze security exposure '$exp', want below 3.0"
	pass "$u: systemd-analyze security exposure $exp"
done

# The sysusers and tmpfiles files, applied by systemd's tools to an empty root.
R=$TMP/root
mkdir -p "$R/etc"
: >"$R/etc/passwd"
: >"$R/etc/group"
systemd-sysusers --root="$R" "$P/lib/sysusers.d/socks46.conf" >/dev/null 2>&1 ||
	fail "systemd-sysusers refuses socks46.conf"
assert_contains "$(cat "$R/etc/passwd")" "_socks46:x:" "sysusers: the user _socks46"
assert_contains "$(grep _socks46 "$R/etc/passwd")" ":/nonexistent:" "sysusers: no home"
systemd-tmpfiles --root="$R" --create "$P/lib/tmpfiles.d/socks46.conf" 2>"$TMP/tmpfiles.err" ||
	fail "systemd-tmpfiles: $(cat "$TMP/tmpfiles.err")"
assert_eq "$(stat -c '%a %U' "$R/run/socks46" "$R/var/lib/socks46" "$R/sys/fs/bpf/socks46" |
	tr '\n' ' ')" "755 root 700 root 700 root " \
	"tmpfiles: /run/socks46, /var/lib/socks46 and the pin directory"
assert_eq "$(unit_prop socks46-agent.service ReadWritePaths)" /sys/fs/bpf/socks46 \
	"agent: may write the pin directory tmpfiles makes"
