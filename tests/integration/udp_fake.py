#!/usr/bin/python3
"""udp_fake.py — a plain UDP program: resolves names, exchanges datagrams with echo servers, checks where replies claim to come from."""
import argparse
import os
import socket
import sys
import time


def resolve(name, port, fam):
    gai = socket.AF_INET6 if fam == "inet6" else socket.AF_INET
    addr = socket.getaddrinfo(name, port, gai, socket.SOCK_DGRAM)[0][4][0]
    if fam == "mapped":
        return "::ffff:" + addr
    return addr


def exchange(s, dst, size, count, connected, timeout):
    """Sends count datagrams of size bytes one after another, each answered before the next."""
    for i in range(count):
        data = ((b"%06d " % i) + os.urandom(size))[:size]
        if connected:
            s.send(data)
        else:
            s.sendto(data, dst)
        s.settimeout(timeout)
        try:
            got, src = s.recvfrom(65536)
        except socket.timeout:
            return f"datagram {i} not answered"
        if got != data:
            return f"datagram {i}: reply of {len(got)} bytes differs from the {len(data)} sent"
        if (src[0], src[1]) != (dst[0], dst[1]):
            return f"datagram {i}: reply from {src[0]} port {src[1]}, sent to {dst[0]} port {dst[1]}"
    return None


def burst(s, dst, size, count, connected, timeout):
    """Sends count datagrams at once (every seventh shorter), then takes count replies: each
    must be one of those sent, from where they were sent."""
    sent = {}
    for i in range(count):
        n = size if i % 7 else max(8, size // 3)
        data = ((b"%06d " % i) + os.urandom(n))[:n]
        sent[data] = sent.get(data, 0) + 1
        if connected:
            s.send(data)
        else:
            s.sendto(data, dst)
    s.settimeout(timeout)
    for i in range(count):
        try:
            got, src = s.recvfrom(65536)
        except socket.timeout:
            return f"{count - i} of the {count} replies did not come"
        if not sent.get(got):
            return f"reply {i}: {len(got)} bytes that were not sent (or came twice)"
        sent[got] -= 1
        if (src[0], src[1]) != (dst[0], dst[1]):
            return f"reply {i}: from {src[0]} port {src[1]}, sent to {dst[0]} port {dst[1]}"
    return None


def hold(s, path):
    """Keeps the socket open until the test removes path (at most a minute)."""
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(path + ".tmp", path)
    for _ in range(1200):
        if not os.path.exists(path):
            return
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", choices=["inet", "inet6", "mapped"], default="inet")
    ap.add_argument("--connect", action="store_true")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--burst", action="store_true",
                    help="send the --count datagrams at once, then take the replies")
    ap.add_argument("-t", "--timeout", type=float, default=5)
    ap.add_argument("--hold", metavar="FILE",
                    help="then write the socket's port to FILE and keep it open until FILE is removed")
    ap.add_argument("dest", nargs="+", help="NAME PORT pairs")
    a = ap.parse_args()
    fam = socket.AF_INET if a.family == "inet" else socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.family == "mapped":
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    bad = 0
    for name, port in zip(a.dest[::2], a.dest[1::2]):
        port = int(port)
        addr = resolve(name, port, a.family)
        dst = (addr, port)
        if a.connect:
            s.connect(dst)
            peer = s.getpeername()
            if (peer[0], peer[1]) != dst:
                print(f"{name}: getpeername {peer[0]} port {peer[1]}, connected to {addr} port {port}")
                bad += 1
                continue
        if a.burst:
            err = burst(s, dst, a.size, a.count, a.connect, a.timeout)
        else:
            err = exchange(s, dst, a.size, a.count, a.connect, a.timeout)
        if err:
            print(f"{name}: {err}")
            bad += 1
        else:
            print(f"ok {name} {addr} {port} {a.count}x{a.size}")
    if a.hold and not bad:
        hold(s, a.hold)
    s.close()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
