#!/usr/bin/python3
"""slow_clients.py — many TCP clients that send a prefix, then trickle bytes (or nothing).

usage: slow_clients.py [--prefix HEX] [--interval S] [--duration S] [--ready FILE] HOST PORT N

Opens N connections to HOST:PORT, sends PREFIX on each, then one byte ("x") per
connection every --interval seconds (0: nothing more), for at most --duration seconds
or until the server has closed every connection. Prints "connected N" once all are
open, with " (F failed)" if some could not connect (and writes it to --ready FILE),
then at the end one line: "closed K of N first=S last=S" (N: those connected; seconds
from connect to the server's close, "-" if none).
"""
import argparse
import selectors
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--prefix", default="")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--ready")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int)
    a = p.parse_args()
    prefix = bytes.fromhex(a.prefix)
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    sel = selectors.DefaultSelector()
    opened = {}
    failed = 0
    for _ in range(a.n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect((a.host, a.port))
            if prefix:
                s.sendall(prefix)
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        opened[s] = time.monotonic()
        sel.register(s, selectors.EVENT_READ)
    ready = "connected %d" % len(opened) + (" (%d failed)" % failed if failed else "")
    print(ready, flush=True)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write(ready + "\n")
    n = len(opened)
    ages = []
    end = time.monotonic() + a.duration
    tick = time.monotonic()
    while opened and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                ages.append(time.monotonic() - opened.pop(s))
                sel.unregister(s)
                s.close()
        if a.interval > 0 and time.monotonic() >= tick + a.interval:
            tick = time.monotonic()
            for s in list(opened):
                try:
                    s.send(b"x")
                except BlockingIOError:
                    pass
                except OSError:
                    pass  # reset: the next select reports it
    ages.sort()
    print("closed %d of %d first=%s last=%s" % (
        len(ages), n, "%.1f" % ages[0] if ages else "-", "%.1f" % ages[-1] if ages else "-"),
        flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
