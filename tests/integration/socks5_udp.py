#!/usr/bin/python3
"""socks5_udp.py — SOCKS5 UDP ASSOCIATE client for tests, and a UDP echo server.

usage:
  socks5_udp.py [-t SEC] [--user U --password P] [--want ADDR PORT] SERVER PORT ACTION...
  socks5_udp.py serve ADDR PORT

Associates (printing "reply XX" and "bnd ADDR PORT"), then runs the actions:
  echo DST PORT TEXT       datagram to DST:PORT; prints "from SRC SPORT TEXT" per reply, or "timeout"
  frag DST PORT TEXT       the same with FRAG=1 (must be dropped)
  stranger DST PORT TEXT   the same from another UDP socket (another source port)
  raw HEX                  a raw datagram (header included)
  lost DST PORT TEXT       like echo, for a datagram the gateway must drop
  (lost, frag, stranger and raw are meant to be dropped: they wait only --drop-wait
  for an answer; the gateway's dropped= count is the proof)
  dns DST NAME TYPE        DNS query (A or AAAA) to DST:53; prints "dns RCODE ADDR..." or "timeout"
  flood DST PORT N         N datagrams to DST:PORT without waiting for replies
  sleep SEC                pause
  close                    closes the control connection (and waits 0.3 s)
  ctlwait SEC              waits up to SEC for the gateway to close the control connection;
                           prints "ctl closed SECONDS" or "ctl open"
DST may be a name, sent as ATYP DOMAINNAME. serve echoes each datagram back
and logs "from ADDR PORT" per datagram.
"""
import argparse
import random
import socket
import sys
import time

import dnswire
from socks5wire import dec_addr, enc_addr, out, read_addr, recv_exact


def associate(args):
    ctl = socket.create_connection((args.server, args.port), timeout=args.timeout)
    if args.user:
        ctl.sendall(b"\x05\x01\x02")
        recv_exact(ctl, 2)
        u, p = args.user.encode(), args.password.encode()
        ctl.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        if recv_exact(ctl, 2)[1] != 0:
            out("auth failed")
            sys.exit(1)
    else:
        ctl.sendall(b"\x05\x01\x00")
        recv_exact(ctl, 2)
    want = args.want or ["0.0.0.0", "0"]
    ctl.sendall(b"\x05\x03\x00" + enc_addr(want[0], int(want[1])))
    head = recv_exact(ctl, 4)
    out("reply %02x" % head[1])
    bnd = read_addr(ctl, head[3]) if head[3] in (1, 4) else None
    if head[1] != 0 or not bnd:
        sys.exit(0)
    host, port = bnd
    out("bnd", host, port)
    return ctl, host, port


def udp_for(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
    return s


def wait_replies(s, timeout, want=1):
    s.settimeout(timeout)
    got = []
    try:
        while len(got) < want:
            got.append(s.recv(65536))
    except socket.timeout:
        pass
    return got


def show_reply(d):
    if d[:3] != b"\x00\x00\x00":
        out("badheader", d[:4].hex())
        return None
    host, port, off = dec_addr(d, 3)
    return host, port, d[off:]


def dns_query(name, qtype):
    return dnswire.query(random.randrange(65536), name, qtype)


def dns_answers(msg):
    _, flags, _, rrs = dnswire.records(msg)
    addrs = [dnswire.address(t, rd) for sec, t, _, _, rd in rrs if sec == "an"]
    return flags & 0xF, [a for a in addrs if a]


def run(args):
    ctl, bhost, bport = associate(args)
    u = udp_for(bhost)
    acts = list(args.actions)
    while acts:
        a = acts.pop(0)
        if a in ("echo", "lost", "frag", "stranger"):
            dst, port, text = acts.pop(0), int(acts.pop(0)), acts.pop(0)
            sock = udp_for(bhost) if a == "stranger" else u
            frag = b"\x01" if a == "frag" else b"\x00"
            sock.sendto(b"\x00\x00" + frag + enc_addr(dst, port) + text.encode(), (bhost, bport))
            got = wait_replies(sock, args.timeout if a == "echo" else args.drop_wait)
            if not got:
                out("timeout")
            for d in got:
                r = show_reply(d)
                if r:
                    out("from", r[0], r[1], r[2].decode("latin1"))
        elif a == "raw":
            u.sendto(bytes.fromhex(acts.pop(0)), (bhost, bport))
            got = wait_replies(u, args.drop_wait)
            out("timeout" if not got else "got %d" % len(got))
        elif a == "dns":
            dst, name, qtype = acts.pop(0), acts.pop(0), acts.pop(0)
            u.sendto(b"\x00\x00\x00" + enc_addr(dst, 53) + dns_query(name, qtype), (bhost, bport))
            got = wait_replies(u, args.timeout)
            if not got:
                out("timeout")
                continue
            r = show_reply(got[0])
            if r:
                rcode, addrs = dns_answers(r[2])
                out("dns", rcode, *addrs)
        elif a == "flood":
            dst, port, n = acts.pop(0), int(acts.pop(0)), int(acts.pop(0))
            for i in range(n):
                u.sendto(b"\x00\x00\x00" + enc_addr(dst, port) + b"flood%d" % i, (bhost, bport))
            out("flooded", n)
        elif a == "sleep":
            time.sleep(float(acts.pop(0)))
        elif a == "close":
            ctl.close()
            time.sleep(0.3)
        elif a == "ctlwait":
            limit, t0 = float(acts.pop(0)), time.monotonic()
            ctl.settimeout(limit)
            try:
                closed = ctl.recv(1) == b""
            except socket.timeout:
                closed = False
            except OSError:
                closed = True
            out("ctl closed %.1f" % (time.monotonic() - t0) if closed else "ctl open")
        else:
            out("unknown action", a)
            sys.exit(2)


def serve(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        d, peer = s.recvfrom(65536)
        out("from", peer[0], peer[1])
        s.sendto(d, peer)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("-t", "--timeout", type=float, default=1.5)
    ap.add_argument("--drop-wait", type=float, default=0.3)
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--want", nargs=2)
    ap.add_argument("server")
    ap.add_argument("port", type=int)
    ap.add_argument("actions", nargs="*")
    run(ap.parse_intermixed_args())


if __name__ == "__main__":
    main()
