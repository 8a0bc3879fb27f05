#!/usr/bin/python3
"""agent_dns_query.py — a raw DNS client for the agent's responder tests.

usage: agent_dns_query.py [--tcp] [--edns SIZE] [--raw HEX] [--id N] SERVER PORT NAME TYPE
Prints one line: rcode=N tc=0|1 ra=0|1 id=ok|bad question=ok|bad ans=A,B ttl=N opt=SIZE|-
from=ADDR:PORT (UDP: where the answer came from, unconnected socket)
(--raw sends HEX bytes instead of a query and prints what comes back, or "timeout").
"""
import argparse
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build(qid, name, qtype, edns):
    flags = 0x0100  # RD
    ar = 1 if edns else 0
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, ar)
    msg += encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return msg


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
        if n == 0:
            return off


def parse(msg, qid, question):
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    qok = "bad"
    if qd == 1:
        end = skip_name(msg, off) + 4
        qok = "ok" if msg[off:end] == question else "bad"
        off = end
    answers, ttl, opt = [], "-", "-"
    for i in range(an + ns + ar):
        off = skip_name(msg, off)
        rtype, rclass, rttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if i < an and rtype == 1:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
            ttl = rttl
        elif i < an and rtype == 28:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
            ttl = rttl
        elif rtype == 41:
            opt = rclass
    return "rcode=%d tc=%d ra=%d id=%s question=%s ans=%s ttl=%s opt=%s" % (
        flags & 0xF, (flags >> 9) & 1, (flags >> 7) & 1, "ok" if rid == qid else "bad",
        qok, ",".join(answers) or "-", ttl, opt)


def exchange(args, payload):
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    if args.tcp:
        s = socket.create_connection((args.server, args.port), timeout=3)
        s.sendall(struct.pack("!H", len(payload)) + payload)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf[2:]
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(float(args.timeout))
    s.sendto(payload, (args.server, args.port))
    reply, peer = s.recvfrom(65536)
    exchange.peer = "%s:%d" % (peer[0], peer[1])
    return reply


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--edns", type=int, default=0)
    p.add_argument("--raw")
    p.add_argument("--id", type=int, default=0x5A5A)
    p.add_argument("--timeout", default="3")
    p.add_argument("server")
    p.add_argument("port", type=int)
    p.add_argument("name", nargs="?", default="")
    p.add_argument("type", nargs="?", default="A")
    args = p.parse_args()
    try:
        if args.raw is not None:
            reply = exchange(args, bytes.fromhex(args.raw))
            print(reply.hex())
            return 0
        msg = build(args.id, args.name, TYPES[args.type], args.edns)
        reply = exchange(args, msg)
    except socket.timeout:
        print("timeout")
        return 1
    print(parse(reply, args.id, msg[12:12 + len(encode_name(args.name)) + 4]),
          "from=" + getattr(exchange, "peer", "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
