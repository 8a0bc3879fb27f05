#!/bin/sh
# initramfs.sh — packs busybox-static, vmtest/init and the modules that mount a 9p root into a cpio.
# usage: vmtest/initramfs.sh KROOT KVER OUT.cpio
#   KROOT  a kernel package unpacked with dpkg-deb -x and indexed with depmod -b
#   KVER   its release (the directory name under KROOT/lib/modules)
# Debian builds virtio-pci, 9p and overlayfs as modules, so the guest cannot mount the
# host's root before this initramfs loads them; the order comes from modprobe --show-depends.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 KROOT KVER OUT.cpio" >&2; exit 2; }
kroot=$1
kver=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
# What the init needs before switch_root: the PCI transport, the 9p client and overlayfs.
mods="virtio_pci 9pnet_virtio 9p overlay"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "initramfs: busybox not found (install busybox-static)" >&2; exit 1; }
# ldd fails on a static executable; the dynamic "busybox" package would not run without libc.
! ldd "$busybox" >/dev/null 2>&1 ||
	{ echo "initramfs: $busybox is not static (install busybox-static)" >&2; exit 1; }
[ -d "$kroot/lib/modules/$kver" ] || { echo "initramfs: no modules in $kroot for $kver" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/mods" "$stage/proc" "$stage/sys" "$stage/dev" \
	"$stage/lower" "$stage/upper" "$stage/newroot"
cp "$busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init"

# Each module once, dependencies first; busybox insmod cannot read .ko.xz or .ko.zst.
: >"$stage/mods/order"
for m in $mods; do
	# "builtin NAME" lines need nothing; a module that is neither is an error.
	deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m") ||
		{ echo "initramfs: $kver has no $m" >&2; exit 1; }
	printf '%s\n' "$deps" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		name=$(basename "$path")
		name=${name%.xz}
		name=${name%.zst}
		grep -qx "$name" "$stage/mods/order" && continue
		case $path in
		*.xz) xz -dc "$path" >"$stage/mods/$name" ;;
		*.zst) zstd -qdc "$path" >"$stage/mods/$name" ;;
		*) cp "$path" "$stage/mods/$name" ;;
		esac
		echo "$name" >>"$stage/mods/order"
	done
done

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
