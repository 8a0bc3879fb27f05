#!/usr/bin/python3
"""control_stall.py — control clients that ask for `status` and never read, while DNS is queried.

usage: control_stall.py [--max S] [--fill N] [--request LINE] SOCK N DNS-PORT

With --fill N first asks the responder on 127.0.0.1:DNS-PORT for N distinct names
(fillN.stall.test), so the fake-IP table and the status reply grow. Then opens N
control connections to SOCK that send "status\\n" (or --request LINE; "": nothing)
and never read, and queries the responder over UDP one name after the other (1 s
timeout each) until the agent has closed every stalled connection or --max seconds
(default 40) have passed (N = 0: for --max seconds, a baseline).
Prints: "filled N" (with --fill), "stalled N" once they are open, then
"queries Q answered A median=MS ms slowest=MS ms" and "stalled closed K of N last=S s".
"""
import argparse
import select
import socket
import sys
import time

import dnswire


def ask(u, port, qid, name):
    """One UDP query; its answer time in ms, or None after 1 s."""
    t0 = time.monotonic()
    u.sendto(dnswire.query(qid, name, "A"), ("127.0.0.1", port))
    while True:
        left = 1.0 - (time.monotonic() - t0)
        if left <= 0:
            return None
        u.settimeout(left)
        try:
            reply = u.recv(65536)
        except socket.timeout:
            return None
        if reply[:2] == qid.to_bytes(2, "big"):
            return (time.monotonic() - t0) * 1000


def fill(u, port, n):
    """n distinct names, 64 in flight at a time; a lost answer is asked again."""
    todo = list(range(n))
    while todo:
        batch, todo = todo[:64], todo[64:]
        for i in batch:
            u.sendto(dnswire.query(i & 0xFFFF, "fill%d.stall.test" % i, "A"), ("127.0.0.1", port))
        u.settimeout(1.0)
        got = set()
        try:
            while len(got) < len(batch):
                got.add(int.from_bytes(u.recv(65536)[:2], "big"))
        except socket.timeout:
            todo += [i for i in batch if i & 0xFFFF not in got]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--max", type=float, default=40)
    p.add_argument("--fill", type=int, default=0)
    p.add_argument("--request", default="status")
    p.add_argument("sock")
    p.add_argument("n", type=int)
    p.add_argument("port", type=int)
    a = p.parse_args()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.fill:
        fill(u, a.port, a.fill)
        print("filled %d" % a.fill, flush=True)
    stalled = []
    for _ in range(a.n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(a.sock)
        if a.request:
            s.sendall(a.request.encode() + b"\n")
        stalled.append(s)
    print("stalled %d" % a.n, flush=True)
    start = time.monotonic()
    poll = select.poll()
    for s in stalled:
        poll.register(s, 0)  # POLLHUP only: the agent closed it (we read nothing)
    open_fds = {s.fileno() for s in stalled}
    last = None
    asked = answered = 0
    times = []
    # Without stalled clients (N = 0) it measures DNS alone, for --max seconds.
    while (open_fds or not a.n) and time.monotonic() - start < a.max:
        ms = ask(u, a.port, (asked + 1000) & 0xFFFF, "probe%d.stall.test" % (asked % 50))
        asked += 1
        if ms is not None:
            answered += 1
            times.append(ms)
        for fd, ev in poll.poll(0):
            if ev & (select.POLLHUP | select.POLLERR) and fd in open_fds:
                open_fds.discard(fd)
                poll.unregister(fd)
                last = time.monotonic() - start
    times.sort()
    print("queries %d answered %d median=%.2f ms slowest=%.0f ms" % (
        asked, answered, times[len(times) // 2] if times else 0, times[-1] if times else 0))
    print("stalled closed %d of %d last=%s s" % (
        a.n - len(open_fds), a.n, "%.1f" % last if last is not None else "-"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
