#!/usr/bin/python3
"""pysocks_get.py — fetches http://HOST/PAGE through a SOCKS5 proxy with PySocks (remote DNS); prints the body.

usage: pysocks_get.py PROXY_ADDR PROXY_PORT HOST PAGE [USER PASSWORD]
"""
import socket
import sys

import socks
from socks5wire import recv_all


def main():
    proxy, port, host, page = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    user, password = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
    fam = socket.AF_INET6 if ":" in proxy else socket.AF_INET
    s = socks.socksocket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    s.set_proxy(socks.SOCKS5, proxy, port, rdns=True, username=user, password=password)
    try:
        s.connect((host, 80))
    except socks.ProxyError as e:
        print("proxy error:", e, file=sys.stderr)
        sys.exit(1)
    s.sendall(b"GET /" + page.encode() + b" HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
    buf = recv_all(s)
    head, _, body = buf.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        print("bad status:", head.split(b"\r\n", 1)[0].decode("latin1"), file=sys.stderr)
        sys.exit(1)
    sys.stdout.write(body.decode("latin1"))


if __name__ == "__main__":
    main()
