#!/bin/sh
# seed_fuzz_dns.sh — writes seed DNS messages for fuzz_dns into DIR: queries of each kind the responder meets.
dir=${1:?usage: seed_fuzz_dns.sh DIR}
exec /usr/bin/python3 - "$dir" <<'PY'
import os, struct, sys

d = sys.argv[1]


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"


def query(qid, n, qtype, edns=0, flags=0x0100):
    m = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0) + name(n) + struct.pack("!HH", qtype, 1)
    if edns:
        m += b"\0" + struct.pack("!HHIH", 41, edns, 0x8000, 0)
    return m


seeds = {
    "a": query(1, "web6.test", 1),
    "aaaa_edns": query(2, "Web4.Test", 28, 1232),
    "ptr": query(3, "7.0.18.198.in-addr.arpa", 12),
    "ptr6": query(4, ".".join("0123456789abcdef0123456789abcdef") + ".ip6.arpa", 12),
    "mx": query(5, "corp.example", 15, 4096),
    # the question name is "www" + a pointer back to a name in an answer-less header
    "compressed": struct.pack("!HHHHHH", 6, 0x0100, 1, 0, 0, 0) + b"\x03www\xc0\x0c" + struct.pack("!HH", 1, 1),
    "answer": query(7, "web6.test", 1, flags=0x8180) + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([198, 18, 0, 1]),
    "short": b"\x12\x34\x01\x00\x00\x01",
}
for k, v in seeds.items():
    with open(os.path.join(d, "seed_" + k), "wb") as f:
        f.write(v)
PY
