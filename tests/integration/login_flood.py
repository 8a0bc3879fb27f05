#!/usr/bin/python3
"""login_flood.py — SOCKS5 logins from one address: some abandoned at once, some held for their answer.

usage: login_flood.py GW-ADDR GW-PORT USER PASSWORD [--abandon N] [--abandon-user NAME] [--hold M] [-t SECONDS]

Every client sends the greeting (method 0x02) and its RFC 1929 login in one write. The N
abandoned ones close at once without reading (every other one with a reset); then the M
held ones, all open at the same time, wait up to SECONDS for the method choice and the
login status. Prints "abandoned N; held M: ok A, refused R, no reply Z, other O" —
refused is status 0x01 followed by the gateway's close.
"""
import argparse
import selectors
import socket
import struct
import sys
import time


def login_msg(user, pw):
    return b"\x05\x01\x02" + bytes([1, len(user)]) + user + bytes([len(pw)]) + pw


def abandon(host, port, msg, n):
    for i in range(n):
        s = socket.create_connection((host, port), timeout=5)
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(msg)
        s.close()


def classify(data, eof):
    if len(data) >= 4 and data[:4] == b"\x05\x02\x01\x00":
        return "ok"
    if len(data) >= 4 and data[:4] == b"\x05\x02\x01\x01" and eof:
        return "refused"
    return "other"


def hold(host, port, msg, m, timeout):
    sel = selectors.DefaultSelector()
    got = {}
    for _ in range(m):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(msg)
        s.setblocking(False)
        got[s] = b""
        sel.register(s, selectors.EVENT_READ)
    counts = {"ok": 0, "refused": 0, "no reply": 0, "other": 0}
    end = time.monotonic() + timeout
    while got and time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, end - time.monotonic())):
            s = key.fileobj
            try:
                chunk = s.recv(64)
            except OSError:
                chunk = b""
            got[s] += chunk
            done = None
            if not chunk:
                done = classify(got[s], True)
            elif got[s][:4] == b"\x05\x02\x01\x00":
                done = "ok"
            if done:
                counts[done] += 1
                sel.unregister(s)
                s.close()
                del got[s]
    counts["no reply"] += len(got)
    for s in got:
        s.close()
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--abandon", type=int, default=0)
    ap.add_argument("--abandon-user", default=None)
    ap.add_argument("--hold", type=int, default=0)
    ap.add_argument("-t", type=float, default=30.0)
    a = ap.parse_args()
    msg = login_msg(a.user.encode(), a.password.encode())
    bad = login_msg((a.abandon_user or a.user).encode(), a.password.encode())
    abandon(a.host, a.port, bad, a.abandon)
    c = hold(a.host, a.port, msg, a.hold, a.t)
    print("abandoned %d; held %d: ok %d, refused %d, no reply %d, other %d" %
          (a.abandon, a.hold, c["ok"], c["refused"], c["no reply"], c["other"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
