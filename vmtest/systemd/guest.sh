#!/bin/sh
# guest.sh — the systemd guest: "setup" prepares the root before systemd boots it, "run" (the
# socks46-vmtest unit) runs test_system.sh, "emergency" reports a boot that never got there.
# usage: guest.sh setup|run|emergency
# Like vmtest/guest.sh, every path that runs a test ends in guest_finish: the verdict is the
# file "result" on the work share and a missing result fails the guest.
share=/run/s46-vmtest
. $share/env
. "$S46_REPO/vmtest/guestlib.sh"
here=$S46_REPO/vmtest/systemd
units=/etc/systemd/system

# guest_mask UNIT...: never started in this guest.
guest_mask() {
	for u in "$@"; do
		ln -sfn /dev/null "$units/$u" || exit 1
	done
}

# Runs chrooted in the new root (an overlay whose writes stay in guest RAM), before systemd.
guest_setup() {
	# The host's fstab names its own disks: the initramfs has mounted everything already.
	echo "# vmtest guest: the initramfs mounts the root" >/etc/fstab
	# check-harness.sh: a disk that never comes ends the boot in emergency mode.
	[ "${S46_VMTEST_FAULT:-}" = emergency ] &&
		echo "/dev/disk/by-label/s46-none /mnt ext4 x-systemd.device-timeout=1s 0 0" >>/etc/fstab
	# A container host marks its root as one: systemd would then ignore the kernel command
	# line and run in container mode, and policy-rc.d would keep dpkg from starting services.
	rm -f /.dockerenv /run/.containerenv /usr/sbin/policy-rc.d
	# dpkg -i would trigger man-db to rebuild the whole manual index: minutes under emulation.
	rm -f /var/lib/man-db/auto-update
	# Services the host enabled for itself (its databases, proxies, time sync) are not part
	# of this system; neither are logins, timers (apt, man-db, fstrim) and waiting for a network.
	for w in "$units"/*.wants/*; do
		[ -e "$w" ] || [ -L "$w" ] || continue
		case $(basename "$w") in socks46*) continue ;; esac
		guest_mask "$(basename "$w")"
	done
	guest_mask getty.target console-getty.service serial-getty@ttyS0.service timers.target \
		systemd-networkd-wait-online.service systemd-timesyncd.service systemd-pstore.service \
		systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service
	install -m 0644 "$here/socks46-vmtest.service" "$units/socks46-vmtest.service" || exit 1
	mkdir -p "$units/multi-user.target.wants" "$units/emergency.service.d" "$units/rescue.service.d"
	ln -sfn ../socks46-vmtest.service "$units/multi-user.target.wants/socks46-vmtest.service"
	# A boot that ends in emergency or rescue mode says why and powers off at once.
	for u in emergency rescue; do
		cat >"$units/$u.service.d/s46-vmtest.conf" <<-EOT
			[Service]
			EnvironmentFile=$share/env
			ExecStart=
			ExecStart=/bin/sh \${S46_GUEST} emergency
			StandardInput=null
			StandardOutput=journal+console
			StandardError=journal+console
		EOT
	done
}

guest_emergency() {
	echo "vmtest-guest: systemd did not reach multi-user.target:"
	systemctl --no-pager --failed
	journalctl --no-pager -b -p warning | tail -n 40
	guest_finish 98
}

guest_run() {
	cd "$S46_REPO" || guest_finish 90
	echo "vmtest-guest: kernel $(uname -r), $(systemctl --version | head -n 1), $(nproc) CPUs"
	echo 1 >/proc/sys/kernel/panic_on_oops
	echo 1 >/proc/sys/kernel/sysrq
	# Boot time as systemd counts it (kernel + userspace up to multi-user.target).
	systemd-analyze time 2>/dev/null | head -n 1
	export S46_BIN S46_DEB S46_IN_VMTEST_GUEST=1
	# Not through tests/run.sh: the test's own lines go to the console as they come. It is
	# the guest's one test: all of the guest's time but the boot (up to 50 s on a loaded
	# host) and the power-off.
	tmo=$((S46_VMTEST_TIMEOUT - 80))
	rc=0
	start=$(date +%s)
	if timeout -k 5 "$tmo" /bin/bash "$here/test_system.sh"; then
		echo "  PASS  vm-systemd/test_system.sh ($(($(date +%s) - start))s)"
	else
		echo "  FAIL  vm-systemd/test_system.sh (exit $?)"
		rc=1
	fi
	guest_dmesg_clean || rc=1
	# The whole journal, for a look after the run: $S46_VMTEST_OUT/NAME/work/journal.txt.
	journalctl --no-pager -b -o short-monotonic >$share/journal.txt 2>&1
	guest_finish $rc
}

case ${1:-} in
setup) guest_setup ;;
run) guest_run ;;
emergency) guest_emergency ;;
*)
	echo "usage: $0 setup|run|emergency" >&2
	exit 2
	;;
esac
