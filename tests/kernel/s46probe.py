#!/usr/bin/python3
# s46probe.py — a program under redirection: DNS over UDP/TCP, connects, getpeername; asserts each step.
# usage: s46probe.py CHECK ARGS...   (prints "ok ..." lines; exits 1 with "FAIL: ..." on the first failure)
import ipaddress
import random
import socket
import os
import struct
import sys

# The DNS wire format is shared with the integration tests (the VM guests see the whole tree).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import dnswire  # noqa: E402

FAKE4 = ipaddress.ip_network("198.18.0.0/15")
FAKE6 = ipaddress.ip_network("2001:2::/48")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("ok   " + msg)


def query(name, qtype):
    qid = random.randrange(65536)
    return qid, dnswire.query(qid, name, qtype)


def answers(qid, msg, qtype):
    """The addresses of type qtype in a response to qid."""
    rid, flags, _, rrs = dnswire.records(msg)
    if rid != qid:
        fail("DNS reply ID %d != query ID %d" % (rid, qid))
    if not flags & 0x8000:
        fail("DNS reply without QR")
    return flags & 0xF, [dnswire.address(t, rd) for sec, t, _, _, rd in rrs
                         if sec == "an" and t == qtype]


def expect_fake(addrs, qtype, what):
    if not addrs:
        fail("%s: no address in the answer" % what)
    a = ipaddress.ip_address(addrs[0])
    pool = FAKE4 if qtype == 1 else FAKE6
    if a not in pool:
        fail("%s: %s is not in the fake pool %s" % (what, a, pool))
    ok("%s -> %s (fake, family asked for)" % (what, a))
    return str(a)


def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def dns_udp(server, name, qtype, connected):
    """A query over UDP; checks the reply comes from the server asked. Prints the address."""
    af = fam(server)
    s = socket.socket(af, socket.SOCK_DGRAM)
    s.settimeout(3)
    qid, q = query(name, qtype)
    kind = "connected" if connected else "unconnected"
    if connected:
        s.connect((server, 53))
        peer = s.getpeername()[:2]
        if peer != (server, 53):
            fail("connected UDP getpeername %s, expected %s:53" % (peer, server))
        ok("connected UDP getpeername shows %s:53" % server)
        s.send(q)
    else:
        s.sendto(q, (server, 53))
    try:
        msg, src = s.recvfrom(4096)
    except socket.timeout:
        fail("no DNS reply over %s UDP" % kind)
    if src[:2] != (server, 53):
        fail("%s UDP reply came from %s, expected %s:53" % (kind, src[:2], server))
    ok("%s UDP reply appears to come from %s:53" % (kind, server))
    rcode, addrs = answers(qid, msg, qtype)
    if rcode:
        fail("rcode %d for %s" % (rcode, name))
    return expect_fake(addrs, qtype, "%s UDP %s %s" % (kind, "A" if qtype == 1 else "AAAA", name))


def dns_tcp(server, name, qtype):
    s = socket.create_connection((server, 53), timeout=3)
    qid, q = query(name, qtype)
    s.sendall(struct.pack("!H", len(q)) + q)
    hdr = b""
    while len(hdr) < 2:
        c = s.recv(2 - len(hdr))
        if not c:
            fail("TCP DNS: connection closed")
        hdr += c
    (n,) = struct.unpack("!H", hdr)
    msg = b""
    while len(msg) < n:
        c = s.recv(n - len(msg))
        if not c:
            fail("TCP DNS: short reply")
        msg += c
    rcode, addrs = answers(qid, msg, qtype)
    if rcode:
        fail("TCP rcode %d" % rcode)
    return expect_fake(addrs, qtype, "TCP A %s" % name)


def dns_answer(server, name, qtype, mode):
    """One query (mode unconnected, connected or tcp) whatever answers it; prints the first
    address of the answer, "none" without one. A UDP reply must come from the server asked."""
    qid, q = query(name, qtype)
    if mode == "tcp":
        s = socket.create_connection((server, 53), timeout=3)
        s.sendall(struct.pack("!H", len(q)) + q)
        msg = b""
        while len(msg) < 2 or len(msg) < 2 + struct.unpack("!H", msg[:2])[0]:
            c = s.recv(4096)
            if not c:
                fail("TCP DNS: connection closed")
            msg += c
        msg = msg[2:]
    else:
        s = socket.socket(fam(server), socket.SOCK_DGRAM)
        s.settimeout(3)
        if mode == "connected":
            s.connect((server, 53))
            s.send(q)
        else:
            s.sendto(q, (server, 53))
        try:
            msg, src = s.recvfrom(4096)
        except socket.timeout:
            fail("no DNS reply over %s UDP" % mode)
        if src[:2] != (server, 53):
            fail("%s UDP reply came from %s, expected %s:53" % (mode, src[:2], server))
    rcode, addrs = answers(qid, msg, qtype)
    if rcode:
        fail("rcode %d for %s" % (rcode, name))
    print(addrs[0] if addrs else "none")


def http_get(addr, port, expect, af=None, dual=False):
    """GET / from addr:port; the body must contain expect; getpeername must show addr:port."""
    af = af or fam(addr)
    s = socket.socket(af, socket.SOCK_STREAM)
    if dual:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.settimeout(10)
    s.connect((addr, port))
    peer = s.getpeername()[:2]
    if peer != (addr, port):
        fail("getpeername %s, expected %s" % (peer, (addr, port)))
    ok("getpeername shows %s port %d" % (addr, port))
    s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    if expect.encode() not in data:
        fail("reply from %s:%d lacks %r: %r" % (addr, port, expect, data[:200]))
    ok("GET %s:%d returned %r" % (addr, port, expect))


def connect_error(addr, port, mark=0):
    """Prints the errno name of a connect that must fail at once ("timeout" if it hangs)."""
    s = socket.socket(fam(addr), socket.SOCK_STREAM)
    if mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    s.settimeout(10)  # hang guard: a wait shows as "timeout", never as the errno expected
    try:
        s.connect((addr, port))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        what = "connected" if s.recv(10) else "eof"
    except socket.timeout:
        what = "timeout"
    except OSError as e:
        import errno
        what = errno.errorcode.get(e.errno, str(e.errno))
    print(what)


def udp_denied(addr):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", (addr, 443))
    except PermissionError:
        ok("UDP (non-DNS) to fake %s refused with EPERM" % addr)
        return
    fail("UDP to fake %s was not refused" % addr)


def many(addr, port, count):
    """count sequential connections that each read to EOF."""
    for i in range(count):
        s = socket.create_connection((addr, port), timeout=10)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while s.recv(65536):
            pass
        s.close()
    ok("%d connections to %s:%d" % (count, addr, port))


def serve(addr, port, text):
    """A server that answers every connection with an HTTP reply carrying text."""
    import socketserver

    class H(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(5)
            try:
                self.request.recv(4096)
                body = (text + "\n").encode()
                self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            except OSError:
                pass

    class S(socketserver.ThreadingTCPServer):
        address_family = fam(addr)
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 1024

    S((addr, port), H).serve_forever()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dns-udp":
        print(dns_udp(args[0], args[1], int(args[2]), args[3] == "connected"))
    elif cmd == "dns-answer":
        dns_answer(args[0], args[1], int(args[2]), args[3])
    elif cmd == "dns-tcp":
        print(dns_tcp(args[0], args[1], int(args[2])))
    elif cmd == "get":
        http_get(args[0], int(args[1]), args[2])
    elif cmd == "get-dual":
        http_get(args[0], int(args[1]), args[2], af=socket.AF_INET6, dual=True)
    elif cmd == "connect-error":
        connect_error(args[0], int(args[1]), int(args[2], 0) if len(args) > 2 else 0)
    elif cmd == "udp-denied":
        udp_denied(args[0])
    elif cmd == "serve":
        serve(args[0], int(args[1]), args[2])
    elif cmd == "many":
        many(args[0], int(args[1]), int(args[2]))
    else:
        fail("unknown check " + cmd)


if __name__ == "__main__":
    main()
