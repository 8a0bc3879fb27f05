#!/usr/bin/python3
"""nested_connect.py — one SOCKS5 connection carrying N nested CONNECTs, each to the gateway itself.

usage: nested_connect.py GW-ADDR GW-PORT N HOLD

Sends N greetings and N CONNECTs to GW-ADDR:GW-PORT at once (13 bytes a level), then
reads the replies for up to HOLD seconds, or until the gateway closes. Each accepted
level answers its greeting and its CONNECT, relayed through the levels before it.
Prints "sent N levels (B bytes)", then "accepted K levels, then REP 0xXX" (or
"accepted K levels, no refusal") and "closed by the gateway after S s" or "held S s".
"""
import socket
import struct
import sys
import time


def parse(buf):
    """Accepted levels in buf and the first refusal's REP (or None)."""
    off = ok = 0
    while True:
        if len(buf) < off + 2:
            return ok, None
        off += 2  # the method reply
        if len(buf) < off + 5:
            return ok, None
        rep, atyp = buf[off + 1], buf[off + 3]
        alen = {1: 4, 4: 16}.get(atyp, buf[off + 4] + 1)
        if len(buf) < off + 4 + alen + 2:
            return ok, None if rep == 0 else rep
        if rep != 0:
            return ok, rep
        off += 4 + alen + 2
        ok += 1


def main():
    host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    level = b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton(host) + struct.pack("!H", port)
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(level * n)
    print("sent %d levels (%d bytes)" % (n, len(level) * n), flush=True)
    buf = b""
    start = time.monotonic()
    closed = False
    s.settimeout(0.5)
    while time.monotonic() - start < hold:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            closed = True
            break
        buf += chunk
    ok, rep = parse(buf)
    print("accepted %d levels, %s" % (ok, "then REP 0x%02x" % rep if rep is not None else "no refusal"))
    print("%s %.1f s" % ("closed by the gateway after" if closed else "held", time.monotonic() - start),
          flush=True)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
