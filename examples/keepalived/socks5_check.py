#!/usr/bin/python3
"""socks5_check.py — a keepalived MISC_CHECK for a SOCKS5 gateway: it must resolve a name.

usage: socks5_check.py HOST PORT NAME [TIMEOUT]
  Greets HOST:PORT (method 0x00, no login), sends a SOCKS5 RESOLVE (Tor's command 0xF0)
  for NAME and exits 0 when the gateway answers "succeeded", 1 otherwise (refused,
  silent for TIMEOUT seconds, default 3, or cannot resolve). A gateway that accepts
  connections but cannot resolve names is taken out of the balancer this way, which a
  TCP_CHECK would not see.
"""
import socket
import sys


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def check(host, port, name, timeout):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"\x05\x01\x00")
        if recv_exact(s, 2) != b"\x05\x00":
            return "no acceptable method"
        raw = name.encode()
        s.sendall(b"\x05\xf0\x00\x03" + bytes([len(raw)]) + raw + b"\x00\x00")
        head = recv_exact(s, 4)
        if head[1] != 0:
            return f"reply 0x{head[1]:02x}"
        return None


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    timeout = float(sys.argv[4]) if len(sys.argv) == 5 else 3.0
    try:
        why = check(sys.argv[1], int(sys.argv[2]), sys.argv[3], timeout)
    except (OSError, ValueError) as e:
        why = str(e)
    if why:
        print(f"socks5_check: {sys.argv[1]}:{sys.argv[2]}: {why}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
