#!/usr/bin/python3
"""abandon_logins.py — N SOCKS5 greetings with a username/password login, each abandoned at once.

usage: abandon_logins.py GW-ADDR GW-PORT N USER PASSWORD

Each client sends the greeting (method 0x02) and its RFC 1929 login in one write and
closes without reading. Prints "abandoned N logins in S s" (F failed to connect).
"""
import socket
import sys
import time


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    user, pw = sys.argv[4].encode(), sys.argv[5].encode()
    msg = b"\x05\x01\x02" + bytes([1, len(user)]) + user + bytes([len(pw)]) + pw
    failed = 0
    start = time.monotonic()
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(msg)
            s.close()
        except OSError:
            failed += 1
    print("abandoned %d logins in %.2f s (%d failed to connect)" % (n - failed, time.monotonic() - start,
                                                                   failed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
