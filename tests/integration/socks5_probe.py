#!/usr/bin/python3
"""socks5_probe.py — raw SOCKS5 client for tests: exact bytes, split or pipelined, prints what the server answered.

usage:
  socks5_probe.py [-t SEC] SERVER PORT connect DST DPORT [options] [STEP...]
  socks5_probe.py [-t SEC] SERVER PORT raw HEX [HEX...] [--shut]
  socks5_probe.py [-t SEC] SERVER PORT hold N READY_FILE RELEASE_FILE
  socks5_probe.py [-t SEC] HOST PORT plain [--src ADDR] [STEP...]

connect: greeting, optional RFC 1929 auth, request, then the STEPs:
  send:TEXT   send TEXT (\\n, \\r, \\xNN escapes)   recv:N   read exactly N bytes
  readall     read until EOF                      shut     shutdown(SHUT_WR)
  echo:N      send N random bytes while reading N back; prints "echo ok|mismatch N"
  sleep:SEC   pause                               wait:PATH  wait until PATH exists
  reply       read one more SOCKS5 reply (BIND's second); stop unless it is 00
  mirror      send back everything read until EOF, then shut; prints "mirrored N"
--bnd-file PATH writes the first reply's "ADDR PORT" to PATH (for a BIND peer).
Output, one item a line: "method XX", "auth XX", "reply XX", "bnd ADDR PORT",
"data TEXT" (non-printable bytes as \\xNN), "eof", "closed" (server closed
before an expected answer), "timeout". Exit 0 when the server could be
reached at all (the test judges the output), 2 otherwise.
raw: sends each HEX chunk in its own write 50 ms apart, then prints every
byte the server sent ("recv HEX") and "eof" or "timeout".
hold: opens N TCP connections that send nothing, prints how many got
connected, touches READY_FILE, keeps them until RELEASE_FILE exists.
plain: a direct TCP connection (no SOCKS), from ADDR if given; prints
"local ADDR PORT", then runs the STEPs (not reply).
"""
import argparse
import ipaddress
import os
import random
import socket
import sys
import threading
import time

from socks5wire import Closed, enc_addr, out, read_addr, recv_all, recv_exact


def show(data):
    return "".join(chr(b) if 32 <= b < 127 and b != 0x5C else "\\x%02x" % b for b in data)


def unescape(text):
    return text.encode("latin1").decode("unicode_escape").encode("latin1")


def dial(server, port, timeout):
    try:
        return socket.create_connection((server, port), timeout=timeout)
    except OSError as e:
        out("error", "connect", e.strerror or str(e))
        sys.exit(2)


def build_request(args):
    head = bytes([5, int(args.cmd, 0), 0])
    if args.atyp == "auto":
        return head + enc_addr(args.dst, int(args.dport))
    atyp = int(args.atyp, 0)
    if atyp == 1:
        addr = ipaddress.IPv4Address(args.dst).packed
    elif atyp == 4:
        addr = ipaddress.IPv6Address(args.dst).packed
    elif atyp == 3:
        name = args.dst.encode()
        addr = bytes([len(name)]) + name
    else:
        addr = unescape(args.dst)
    return head + bytes([atyp]) + addr + int(args.dport).to_bytes(2, "big")


def write(sock, data, split):
    if not split:
        sock.sendall(data)
        return
    for i in range(len(data)):
        sock.sendall(data[i:i + 1])
        time.sleep(0.005)


def read_reply(sock):
    head = recv_exact(sock, 4)
    out("reply", "%02x" % head[1])
    bnd = read_addr(sock, head[3])
    if bnd is None:
        out("bad-atyp", "%02x" % head[3])
        return head[1]
    addr, port = bnd
    out("bnd", addr, port)
    LAST_BND[:] = [addr, port]
    if head[0] != 5:
        out("bad-version", "%02x" % head[0])
    return head[1]


def echo_check(sock, n):
    """Send n pseudo-random bytes from a thread while reading n back: they must match."""
    data = random.randbytes(n)
    sender = threading.Thread(target=sock.sendall, args=(data,), daemon=True)
    sender.start()
    got = recv_exact(sock, n)
    sender.join()
    out("echo", "ok" if got == data else "mismatch", n)


def run_steps(sock, steps, pipelined):
    for step in steps:
        op, _, arg = step.partition(":")
        if op == "reply":
            if read_reply(sock) != 0:
                check_closed(sock)
                return
        elif op == "send":
            if step in pipelined:
                continue
            sock.sendall(unescape(arg))
        elif op == "recv":
            out("data", show(recv_exact(sock, int(arg))))
        elif op == "readall":
            out("data", show(recv_all(sock)))
            out("eof")
        elif op == "echo":
            echo_check(sock, int(arg))
        elif op == "mirror":
            total = 0
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                total += len(chunk)
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
            out("mirrored", total)
        elif op == "shut":
            sock.shutdown(socket.SHUT_WR)
        elif op == "sleep":
            time.sleep(float(arg))
        elif op == "wait":
            while not os.path.exists(arg):
                time.sleep(0.02)
        else:
            raise SystemExit("unknown step " + step)


def connect(args):
    methods = [int(m, 0) for m in args.methods.split(",")] if args.methods else \
        ([2] if args.user is not None else [0])
    greeting = bytes([5, len(methods)] + methods)
    auth = b""
    if args.user is not None:
        u, p = args.user.encode(), args.password.encode()
        auth = bytes([1, len(u)]) + u + bytes([len(p)]) + p
    request = build_request(args)
    sock = dial(args.server, args.port, args.timeout)
    guarded(sock, converse, sock, args, greeting, auth, request)


def converse(sock, args, greeting, auth, request):
    """Greeting, auth and request as args say, then the steps."""
    pipelined = []
    if args.pipeline:
        # Greeting, auth, request and the first data leave in one segment.
        first = [s for s in args.steps if s.startswith("send:")][:1]
        pipelined = first
        sock.sendall(greeting + auth + request + b"".join(unescape(s[5:]) for s in first))
    else:
        write(sock, greeting, args.split)
    method = recv_exact(sock, 2)
    out("method", "%02x" % method[1])
    if method[1] == 0xFF:
        check_closed(sock)
        return
    if method[1] == 2:
        if not args.pipeline:
            write(sock, auth, args.split)
        status = recv_exact(sock, 2)
        out("auth", "%02x" % status[1])
        if status[0] != 1:
            out("bad-auth-version", "%02x" % status[0])
        if status[1] != 0:
            check_closed(sock)
            return
    if not args.pipeline:
        write(sock, request, args.split)
    if read_reply(sock) != 0:
        check_closed(sock)
        return
    if args.bnd_file:
        write_bnd(args.bnd_file)
    run_steps(sock, args.steps, pipelined)


LAST_BND = []


def write_bnd(path):
    """Atomically, so a waiting peer never reads half a line."""
    with open(path + ".tmp", "w") as f:
        f.write("%s %d\n" % tuple(LAST_BND))
    os.rename(path + ".tmp", path)


def plain(args):
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.settimeout(args.timeout)
    try:
        if args.src:
            sock.bind((args.src, 0))
        sock.connect((args.server, args.port))
    except OSError as e:
        out("error", "connect", e.strerror or str(e))
        sys.exit(2)
    out("local", *sock.getsockname()[:2])
    guarded(sock, run_steps, sock, args.steps, [])


def guarded(sock, fn, *fnargs):
    """Runs fn(*fnargs), then closes sock; a conversation cut short ends in one word."""
    try:
        fn(*fnargs)
    except Closed:
        out("closed")
    except socket.timeout:
        out("timeout")
    except (ConnectionResetError, BrokenPipeError):
        out("reset")
    finally:
        sock.close()


def check_closed(sock):
    """After a failure answer the server must close: report eof or timeout."""
    try:
        extra = sock.recv(65536)
        if extra:
            out("data", show(extra))
        else:
            out("eof")
    except socket.timeout:
        out("timeout")
    except ConnectionResetError:
        out("eof")


def raw(args):
    sock = dial(args.server, args.port, args.timeout)
    buf = b""
    try:
        for chunk in args.hex:
            sock.sendall(bytes.fromhex(chunk))
            time.sleep(0.05)
        if args.shut:
            sock.shutdown(socket.SHUT_WR)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                out("recv", buf.hex())
                out("eof")
                return
            buf += chunk
    except socket.timeout:
        out("recv", buf.hex())
        out("timeout")
    except (ConnectionResetError, BrokenPipeError):
        out("recv", buf.hex())
        out("eof")
    finally:
        sock.close()


def hold(args):
    socks = []
    for _ in range(args.n):
        try:
            socks.append(socket.create_connection((args.server, args.port), timeout=args.timeout))
        except OSError:
            break
    out("held", len(socks))
    open(args.ready, "w").close()
    while not os.path.exists(args.release):
        time.sleep(0.05)
    for s in socks:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--timeout", type=float, default=5.0)
    ap.add_argument("server")
    ap.add_argument("port", type=int)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("connect")
    c.add_argument("dst")
    c.add_argument("dport", type=int)
    c.add_argument("--methods", help="comma-separated method numbers offered")
    c.add_argument("--user")
    c.add_argument("--password", default="")
    c.add_argument("--cmd", default="1")
    c.add_argument("--atyp", default="auto", help="auto, 1, 3, 4, or any number (DST is then raw escaped bytes)")
    c.add_argument("--split", action="store_true", help="every byte in its own write")
    c.add_argument("--pipeline", action="store_true", help="greeting+auth+request+first send in one write")
    c.add_argument("--bnd-file", help="write the first reply's ADDR PORT here")
    c.add_argument("steps", nargs="*")
    pl = sub.add_parser("plain")
    pl.add_argument("--src", help="local address to connect from")
    pl.add_argument("steps", nargs="*")
    r = sub.add_parser("raw")
    r.add_argument("hex", nargs="+")
    r.add_argument("--shut", action="store_true")
    h = sub.add_parser("hold")
    h.add_argument("n", type=int)
    h.add_argument("ready")
    h.add_argument("release")
    # Steps may follow options: collect what argparse leaves over.
    args, extra = ap.parse_known_args()
    if extra and (args.mode not in ("connect", "plain") or any(e.startswith("--") for e in extra)):
        ap.error("unrecognized arguments: " + " ".join(extra))
    if extra:
        args.steps += extra
    {"connect": connect, "raw": raw, "hold": hold, "plain": plain}[args.mode](args)


if __name__ == "__main__":
    main()
