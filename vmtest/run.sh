#!/bin/sh
# run.sh — the kernel matrix: boots each guest of vmtest/kernels.conf under QEMU and runs tests/kernel (or the systemd guest's test) inside it.
# usage: S46_BIN=/abs/build/socks46 vmtest/run.sh        (what `make vmtest` runs)
# Knobs (environment):
#   S46_VMTEST_KERNELS  names from kernels.conf to run (default: all), e.g. "6.12" or "systemd"
#   S46_VMTEST_CACHE    where kernel packages are kept (default ~/.cache/socks46-vmtest)
#   S46_VMTEST_OUT      console logs and work shares (default: beside S46_BIN, in vmtest/)
#   S46_VMTEST_TIMEOUT  seconds one guest may take, boot to poweroff (default 1200)
#   S46_VMTEST_JOBS     guests booted at once (default 3: every guest of kernels.conf at once)
#   S46_VMTEST_ACCEL    auto (KVM if a short probe boots, else TCG), kvm or tcg
#   S46_IPVS_BENCH      1: test_ipvs.sh also prints its bench figures (one and two gateways)
#   S46_VMTEST_TESTS    tests/kernel file names to run (default: all test_*.sh); "-" runs none,
#                       which fails the kernel after the self-check and refusal test (for debugging)
# Ends with "vmtest: N passed, N failed"; exit status 0 only if every kernel passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

die() {
	echo "vmtest: $*" >&2
	exit 1
}

bin=${S46_BIN:?S46_BIN must name the built socks46 binary}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || die "S46_BIN=$bin is not an executable"
tools=${S46_TOOLS:-$(dirname "$bin")/tools}
out=${S46_VMTEST_OUT:-$(dirname "$bin")/vmtest}
cache=${S46_VMTEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/socks46-vmtest}
limit=${S46_VMTEST_TIMEOUT:-1200}
jobs=${S46_VMTEST_JOBS:-3}
accel=${S46_VMTEST_ACCEL:-auto}
only=${S46_VMTEST_KERNELS:-}
qemu="qemu-system-x86_64"

for t in $qemu busybox dpkg-deb depmod modprobe cpio xz apt-get apt-cache clang timeout flock; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (run tools/install-deps.sh)"
done
[ "$(id -u)" = 0 ] || die "needs root (9p export of /, namespaces and BPF in the guest)"
mkdir -p "$out" "$cache" || die "cannot create $out or $cache"
out=$(cd "$out" && pwd)

# The kernel tests, as absolute paths the guest sees through the read-only root share.
tests=$(find "$repo/tests/kernel" -maxdepth 1 -name 'test_*.sh' 2>/dev/null | LC_ALL=C sort | tr '\n' ' ')
if [ -n "${S46_VMTEST_TESTS:-}" ]; then
	tests=""
	for t in $S46_VMTEST_TESTS; do
		[ "$t" = - ] && continue
		[ -f "$repo/tests/kernel/$t" ] || die "S46_VMTEST_TESTS: no tests/kernel/$t"
		tests="$tests $repo/tests/kernel/$t"
	done
fi

# Prints the versioned image package a meta-package depends on, e.g. linux-image-6.1.0-56-amd64.
run_image_pkg() {
	apt-cache depends "$1" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n 1
}

# Reads a little-endian 32-bit field of FILE at byte OFFSET.
run_le32() {
	od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '
}

# Writes the ELF vmlinux inside a bzImage to OUT. Debian's kernels have CONFIG_PVH, and QEMU
# boots that ELF directly, which skips the in-guest decompression (about 3 s under TCG).
# The x86 boot header gives the payload's place; its last 4 bytes are the appended size.
run_vmlinux() {
	img=$1
	setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$img" | tr -d ' ')
	off=$(((setup + 1) * 512 + $(run_le32 "$img" $((0x248)))))
	len=$(($(run_le32 "$img" $((0x24c))) - 4))
	case $(tail -c +$((off + 1)) "$img" | head -c 6 | od -An -tx1) in
	*"fd 37 7a 58 5a 00"*) unpack="xz -dc" ;;
	*"28 b5 2f fd"*) unpack="zstd -qdc" ;;
	*"1f 8b"*) unpack="gzip -dc" ;;
	*) return 1 ;;
	esac
	tail -c +$((off + 1)) "$img" | head -c "$len" | $unpack >"$2.tmp" && mv "$2.tmp" "$2"
}

# Downloads and unpacks META's image into the cache (once per version); prints the unpacked root.
run_fetch() {
	meta=$1
	pkg=$(run_image_pkg "$meta")
	if [ -z "$pkg" ]; then
		apt-get update -qq >&2 || true
		pkg=$(run_image_pkg "$meta")
	fi
	# Offline: fall back to what an earlier run fetched.
	[ -n "$pkg" ] || pkg=$(cat "$cache/$meta.pkg" 2>/dev/null)
	[ -n "$pkg" ] || { echo "vmtest: apt-cache knows no image for $meta" >&2; return 1; }
	kroot=$cache/$pkg
	if [ ! -e "$kroot/.unpacked" ]; then
		rm -rf "$kroot" "$cache/$pkg"_*.deb
		(cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
			{ echo "vmtest: apt-get download $pkg failed" >&2; return 1; }
		dpkg-deb -x "$cache/$pkg"_*.deb "$kroot" ||
			{ echo "vmtest: dpkg-deb -x $pkg failed" >&2; return 1; }
		kver=$(ls "$kroot/lib/modules")
		depmod -b "$kroot" "$kver" || { echo "vmtest: depmod $kver failed" >&2; return 1; }
		run_vmlinux "$kroot/boot/vmlinuz-$kver" "$kroot/boot/vmlinux-$kver" ||
			echo "vmtest: cannot extract vmlinux from $pkg, booting its bzImage" >&2
		# Only the unpacked tree is used from now on.
		rm -f "$cache/$pkg"_*.deb
		touch "$kroot/.unpacked"
	fi
	old=$(cat "$cache/$meta.pkg" 2>/dev/null)
	[ -n "$old" ] && [ "$old" != "$pkg" ] && rm -rf "${cache:?}/$old"
	echo "$pkg" >"$cache/$meta.pkg"
	echo "$kroot"
}

# Prepares $out/NAME: kernel path, initramfs, env file for the guest and an empty work share.
# KIND "kernel" runs guest.sh (the kernel suite) as the first process; "systemd" boots
# systemd as PID 1 and runs systemd/guest.sh as a unit (see systemd/README in README.md).
run_prepare() {
	name=$1
	meta=$2
	kind=$3
	dir=$out/$name
	rm -rf "$dir"
	mkdir -p "$dir/work"
	# Another checkout's run may be fetching into the same cache.
	kroot=$( (flock 9 && run_fetch "$meta") 9>"$cache/.lock" 2>"$dir/prepare.log") || return 1
	kver=$(ls "$kroot/lib/modules")
	echo "$kver" >"$dir/kver"
	if [ -s "$kroot/boot/vmlinux-$kver" ]; then
		echo "$kroot/boot/vmlinux-$kver" >"$dir/kernel"
	else
		echo "$kroot/boot/vmlinuz-$kver" >"$dir/kernel"
	fi
	"$here/initramfs.sh" "$kroot" "$kver" "$dir/initramfs.cpio" 2>>"$dir/prepare.log" || return 1
	case $kind in
	kernel) guest=$here/guest.sh pid1="" append="" ;;
	systemd) guest=$here/systemd/guest.sh pid1=systemd append="systemd.unit=multi-user.target systemd.show_status=error" ;;
	*) echo "vmtest: $name: unknown guest kind '$kind' in kernels.conf" >>"$dir/prepare.log" && return 1 ;;
	esac
	echo "$kind" >"$dir/kind"
	echo "$append" >"$dir/append"
	cat >"$dir/work/env" <<-EOF
		S46_GUEST='$guest'
		S46_PID1='$pid1'
		S46_DEB='${S46_DEB:-}'
		S46_REPO='$repo'
		S46_MODDIR='$kroot/lib/modules/$kver'
		S46_BIN='$bin'
		S46_TOOLS='$tools'
		S46_TESTS='$tests'
		S46_VMTEST_OBJ='$out/obj'
		S46_TEST_TIMEOUT='${S46_TEST_TIMEOUT:-240}'
		S46_VMTEST_TIMEOUT='$limit'
		S46_VMTEST_FAULT='${S46_VMTEST_FAULT:-}'
		S46_IPVS_BENCH='${S46_IPVS_BENCH:-0}'
		S46_KEEP='$repo $(dirname "$bin") $tools $out/obj $kroot'
	EOF
}

# Boots one guest; $accel and $cpu say how. Console output goes to LOG. Under TCG on a
# busy host a vCPU can lose the real CPU for many seconds: the soft-lockup and RCU-stall
# watchdogs measure that wall time, not a kernel fault, so they are off.
run_qemu() {
	secs=$1
	kernel=$2
	initrd=$3
	work=$4
	log=$5
	append=$6
	timeout -k 5 "$secs" $qemu -nodefaults -display none -no-reboot \
		-machine "q35,accel=$accel" -cpu "$cpu" -smp 2 -m 1G \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet nowatchdog rcupdate.rcu_cpu_stall_suppress=1 $append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$work,mount_tag=work,security_model=none,multidevs=remap" \
		-serial stdio </dev/null >"$log" 2>&1
}

# KVM is used only if a guest really boots with it within seconds: on some hosts /dev/kvm
# exists but qemu aborts or hangs.
run_pick_accel() {
	dir=$1
	[ "$accel" = auto ] || return 0
	accel=tcg
	cpu=max
	[ -w /dev/kvm ] || return 0
	accel=kvm
	cpu=host
	if run_qemu 15 "$(cat "$dir/kernel")" "$dir/initramfs.cpio" "$dir/work" "$out/kvm-probe.log" \
		s46.probe && grep -q VMTEST_PROBE_OK "$out/kvm-probe.log"; then
		echo "vmtest: KVM works, using it"
		return 0
	fi
	accel=tcg
	cpu=max
	echo "vmtest: KVM probe failed ($(grep -m 1 -i -E 'error|fail' "$out/kvm-probe.log" || echo no boot)), using TCG"
}

# Boots NAME's guest and writes its verdict ("PASS" or "FAIL: why") to $out/NAME/verdict.
run_boot() {
	dir=$out/$1
	start=$(date +%s)
	rm -f "$dir/work/result"
	run_qemu "$limit" "$(cat "$dir/kernel")" "$dir/initramfs.cpio" "$dir/work" "$dir/console.log" \
		"$(cat "$dir/append")"
	qrc=$?
	secs=$(($(date +%s) - start))
	result=$(cat "$dir/work/result" 2>/dev/null)
	if grep -q 'Kernel panic' "$dir/console.log"; then
		verdict="FAIL: kernel panic"
	elif [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		verdict="FAIL: timeout after ${limit}s"
	elif [ -z "$result" ]; then
		verdict="FAIL: no result marker (qemu exit $qrc)"
	elif [ "$result" != 0 ]; then
		verdict="FAIL: guest tests exit $result"
	elif [ -z "$tests" ] && [ "$(cat "$dir/kind")" = kernel ]; then
		verdict="FAIL: no tests/kernel/test_*.sh to run (only the self-check ran)"
	else
		verdict=PASS
	fi
	echo "$secs" >"$dir/secs"
	echo "$verdict" >"$dir/verdict"
}

# Shows a failed guest's console, kernel noise and all.
run_show_log() {
	log=$1
	n=$(wc -l <"$log")
	[ "$n" -gt 300 ] && echo "    | ... (first $((n - 300)) lines in $log)"
	tr -d '\r' <"$log" | tail -n 300 | sed 's/^/    | /'
}

# Compiles one of the harness's own BPF programs.
run_bpf_cc() {
	clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"/usr/include/$(gcc -print-multiarch)" \
		-Wall -Werror "$@"
}

# NAME=META=KIND for each line "NAME META-PACKAGE [KIND]" (KIND defaults to kernel).
kernels=$(grep -v -E '^[[:space:]]*(#|$)' "$here/kernels.conf" |
	awk '{ print $1 "=" $2 "=" ($3 == "" ? "kernel" : $3) }')
[ -n "$kernels" ] || die "no kernels in $here/kernels.conf"
for k in $kernels; do
	name=${k%%=*}
	[ -z "$only" ] || case " $only " in *" $name "*) ;; *) continue ;; esac
	selected="${selected:-} $k"
done
[ -n "${selected:-}" ] || die "S46_VMTEST_KERNELS=$only matches nothing in kernels.conf"

# The harness's own BPF objects and loader, built with the host's toolchain.
mkdir -p "$out/obj"
run_bpf_cc -c "$here/selfcheck.bpf.c" -o "$out/obj/selfcheck.bpf.o" || die "cannot build selfcheck"
# One refusal hook per case of refusal.sh.
run_bpf_cc -c "$here/refuse.bpf.c" -o "$out/obj/refuse-getpeername4.bpf.o" ||
	die "cannot build refuse.bpf.c"
run_bpf_cc -DREFUSE_PROG_TYPE=BPF_PROG_TYPE_SOCK_OPS -c "$here/refuse.bpf.c" \
	-o "$out/obj/refuse-sockops.bpf.o" || die "cannot build refuse.bpf.c"
run_bpf_cc -DREFUSE_PROG_TYPE=BPF_PROG_TYPE_CGROUP_SOCK \
	-DREFUSE_ATTACH_TYPE=BPF_CGROUP_INET_SOCK_RELEASE -c "$here/refuse.bpf.c" \
	-o "$out/obj/refuse-sockrelease.bpf.o" || die "cannot build refuse.bpf.c"
${CC:-gcc} -std=gnu11 -O2 -Wall -Wextra -Werror "$here/lsm_attach.c" -lbpf -o "$out/obj/lsm_attach" ||
	die "cannot build lsm_attach"

begin=$(date +%s)
ready=""
for k in $selected; do
	name=${k%%=*}
	mkdir -p "$out/$name"
	spec=${k#*=}
	if run_prepare "$name" "${spec%=*}" "${spec#*=}"; then
		ready="$ready $name"
	else
		echo "FAIL: could not prepare $(tail -n 1 "$out/$name/prepare.log" 2>/dev/null)" \
			>"$out/$name/verdict"
	fi
done

first=${ready# }
first=${first%% *}
cpu=max
[ "$accel" = kvm ] && cpu=host
[ -n "$first" ] && run_pick_accel "$out/$first"
echo "vmtest: accel=$accel, $jobs guest(s) at a time, timeout ${limit}s each"

running=0
for name in $ready; do
	run_boot "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

pass=0
fail=0
for k in $selected; do
	name=${k%%=*}
	dir=$out/$name
	verdict=$(cat "$dir/verdict" 2>/dev/null || echo "FAIL: no verdict")
	kver=$(cat "$dir/kver" 2>/dev/null || echo "?")
	case $verdict in
	PASS*)
		pass=$((pass + 1))
		printf '  PASS  vmtest/%s (%s, %ss)\n' "$name" "$kver" "$(cat "$dir/secs")"
		grep -a -E '^ *(PASS|FAIL|SKIP)  |^ *bench: |: [0-9]+ passed|refusal: (refused|went without)' "$dir/console.log" |
			tr -d '\r' | sed 's/^/    /'
		;;
	*)
		fail=$((fail + 1))
		printf '  FAIL  vmtest/%s (%s): %s\n' "$name" "$kver" "${verdict#FAIL: }"
		if [ -s "$dir/console.log" ]; then
			run_show_log "$dir/console.log"
		elif [ -s "$dir/prepare.log" ]; then
			sed 's/^/    | /' "$dir/prepare.log" | tail -n 20
		fi
		;;
	esac
done
echo "vmtest: matrix took $(($(date +%s) - begin))s"
printf 'vmtest: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
