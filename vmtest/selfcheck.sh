#!/bin/sh
# selfcheck.sh — proves the guest can do what the kernel tests need: veth in a netns, and a cgroup BPF program that acts.
# usage: S46_SELFCHECK_OBJ=selfcheck.bpf.o vmtest/selfcheck.sh
# A failure here is a harness or kernel-configuration problem, not a socks46 one.
set -eu
obj=${S46_SELFCHECK_OBJ:?S46_SELFCHECK_OBJ must name the compiled selfcheck.bpf.o}
py=/usr/bin/python3
tag=s46vm$$
# The filesystem type follows the "-" that ends mountinfo's optional fields.
cgroot=$(awk '{ i = 7; while ($i != "-") i++; if ($(i + 1) == "cgroup2") { print $5; exit } }' \
	/proc/self/mountinfo)
[ -n "$cgroot" ] || { echo "selfcheck: no cgroup2 mount"; exit 1; }
cg=$cgroot/$tag
pin=/sys/fs/bpf/$tag

cleanup() {
	bpftool cgroup detach "$cg" connect4 pinned "$pin/selfcheck_connect4" 2>/dev/null || true
	rm -rf "$pin"
	rmdir "$cg" 2>/dev/null || true
	ip netns del "$tag" 2>/dev/null || true
}
trap cleanup EXIT

# What a normal system has and tests rely on (bash process substitution, /dev/stdin).
if [ ! -d /dev/fd ] || [ ! -e /dev/stdin ]; then
	echo "selfcheck: no /dev/fd or /dev/stdin"
	exit 1
fi

ip netns add "$tag"
ip -n "$tag" link set lo up
ip -n "$tag" link add "${tag}a" type veth peer name "${tag}b"
ip -n "$tag" addr add 198.51.100.1/24 dev "${tag}a"
ip -n "$tag" link set "${tag}a" up
ip -n "$tag" link set "${tag}b" up

mkdir "$cg"
bpftool prog loadall "$obj" "$pin"
bpftool cgroup attach "$cg" connect4 pinned "$pin/selfcheck_connect4"
bpftool cgroup show "$cg" | grep -q connect4 || { echo "selfcheck: program not listed on $cg"; exit 1; }

# Prints the errno name a TCP connect from inside the test cgroup and netns ends with.
# The cgroup is joined before "ip netns exec", which mounts a fresh /sys without cgroup2.
connect_errno() {
	sh -c 'echo $$ >"$1/cgroup.procs" && exec ip netns exec "$2" "$3" -c "$4" "$5"' sh "$cg" "$tag" "$py" '
import errno, socket, sys
s = socket.socket()
s.settimeout(10)
try:
    s.connect((sys.argv[1], 9))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' "$1"
}

denied=$(connect_errno 203.0.113.99)
other=$(connect_errno 203.0.113.98)
echo "selfcheck: $(uname -r): 203.0.113.99:9 -> $denied, 203.0.113.98:9 -> $other"
[ "$denied" = EPERM ] || { echo "selfcheck: the connect4 program did not refuse"; exit 1; }
[ "$other" = ENETUNREACH ] || { echo "selfcheck: an unmatched connect was changed"; exit 1; }
