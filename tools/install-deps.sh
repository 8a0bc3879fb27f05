#!/bin/sh
# install-deps.sh — installs every Debian package socks46 builds, tests and benchmarks with (idempotent).
set -eu

# Build: compilers, BPF toolchain, the formatter and the libraries the binary links.
BUILD_PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
 libmnl-dev libc-ares-dev libcrypt-dev libcmocka-dev libclang-rt-14-dev clang-format"
# Packaging: the .deb, its lint, the man pages' lint and systemd's unit checks.
PKG_PKGS="dpkg-dev debhelper lintian mandoc groff man-db systemd binutils"
# Tests: real peers (DNS server, SOCKS clients and servers), namespaces, the QEMU kernel matrix.
TEST_PKGS="iproute2 dnsmasq-base curl ncat python3 python3-socks proxychains4
 busybox-static dante-server microsocks openssh-client socat procps psmisc
 qemu-system-x86 kmod cpio xz-utils zstd whois keepalived ipvsadm runc haproxy"

missing=""
for p in $BUILD_PKGS $PKG_PKGS $TEST_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# dante-server, keepalived and haproxy ship services their maintainer scripts would start;
# the tests and the bench start their own. A policy-rc.d answering 101 ("not allowed") keeps
# them stopped, unless the machine already has its own policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' >$policy
	chmod 755 $policy
	trap 'rm -f $policy' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
