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

import dnswire



def parse(msg, qid, question):
    rid, flags, qsec, rrs = dnswire.records(msg)
    answers, ttl, opt = [], "-", "-"
    for sec, rtype, rclass, rttl, rdata in rrs:
        if sec == "an" and dnswire.address(rtype, rdata):
            answers.append(dnswire.address(rtype, rdata))
            ttl = rttl
        elif rtype == 41:
            opt = rclass
    return "rcode=%d tc=%d ra=%d id=%s question=%s ans=%s ttl=%s opt=%s" % (
        flags & 0xF, (flags >> 9) & 1, (flags >> 7) & 1, "ok" if rid == qid else "bad",
        "ok" if qsec == question else "bad", ",".join(answers) or "-", ttl, opt)


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
        msg = dnswire.query(args.id, args.name, args.type, args.edns)
        reply = exchange(args, msg)
    except socket.timeout:
        print("timeout")
        return 1
    print(parse(reply, args.id, msg[12:12 + len(dnswire.encode_name(args.name)) + 4]),
          "from=" + getattr(exchange, "peer", "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
