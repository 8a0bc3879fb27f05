#!/bin/bash
# test_runc.sh — a real container (runc, its rootfs the host's /usr and /etc, no image) in a cgroup below the attached one: its createRuntime hook `socks46 netns add --oci-state` serves its namespace before curl runs, whose first query and connection then work.
# Needs runc and cgroup2 at /sys/fs/cgroup (the vmtest guests); skipped elsewhere.
if ! command -v runc >/dev/null; then
	echo "skipped: no runc (tools/install-deps.sh installs it)"
	exit 77
fi
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
	echo "skipped: runc needs cgroup2 at /sys/fs/cgroup (here: $(stat -f -c %T /sys/fs/cgroup 2>/dev/null))"
	exit 77
fi
. "$(dirname "$0")/klib.sh"
ksetup
CTR_NS=$T-ctr
trap 'kcleanup; rc=$?; runc --root "$TMP/runc" delete -f "$T" 2>/dev/null; ip netns del "$CTR_NS" 2>/dev/null; exit $rc' EXIT

# The container's network namespace, lo up, as a runtime's network setup leaves it (runc
# joins it by path); no route: only the agent's listeners inside it lead anywhere.
ip netns add "$CTR_NS" || fail "ip netns add"
ip -n "$CTR_NS" link set lo up
agent_start

# A bundle without an image: the host's /usr and /etc read-only, merged-/usr links.
B=$TMP/bundle
mkdir -p "$B/rootfs"/{proc,dev,sys,usr,etc,tmp,run}
for d in bin lib lib64 sbin; do
	ln -s "usr/$d" "$B/rootfs/$d"
done
cat >"$B/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/usr/bin/curl", "-4", "-sS", "--max-time", "10", "http://web6.test/"],
    "env": ["PATH=/usr/bin:/usr/sbin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "ctr",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
    {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]},
    {"destination": "/etc", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]}
  ],
  "hooks": {
    "createRuntime": [
      {"path": "$S46_BIN", "args": ["socks46", "netns", "add", "--control", "$CTL", "--oci-state"]}
    ]
  },
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
      {"type": "network", "path": "/run/netns/$CTR_NS"}
    ],
    "cgroupsPath": "/$T/ctr"
  }
}
EOF

log "runc runs curl -4 in a container whose hook has the agent serve its namespace first"
out=$(timeout 60 runc --root "$TMP/runc" run --bundle "$B" "$T" 2>&1) || fail "runc run: $out"
assert_eq "$out" "hello-s6" "curl -4 in the container got the IPv6-only server's page by name"
grep -q "serving network namespace inode $(stat -L -c %i "/run/netns/$CTR_NS")" "$TMP/agent.log" ||
	fail "the agent did not serve the container's namespace"
pass "the agent served the container's namespace (its hook, or discovery)"
n=$(jget counters.tcp_redirect)
[ "$n" -ge 1 ] || fail "no connect was redirected"
pass "the connect was redirected ($n)"
exit 0
