#!/usr/bin/python3
# s46xfer.py — parallel transfers that check every byte both ways: half-close, resets, agent death.
# usage: s46xfer.py serve ADDR PORT
#        s46xfer.py echo|push|reset|hold|idle ADDR PORT [--conns N] [--size BYTES] [--allow-reset]
# Each connection starts with one command byte and an 8-byte size:
#   E  echo: the server sends back what it reads and passes the client's FIN on after it
#      (the client shuts its side down as soon as it has sent, while the echo still flows)
#   P  push: the server sends SIZE bytes and shuts its side down; only then the client sends
#      SIZE bytes; the server prints "push ok" or "push BAD ..." once it read them to EOF
#   R  reset: the server sends SIZE bytes and resets the connection (SO_LINGER 0)
#   H  hold: echo; the client reads its bytes back and keeps the connection open until
#      stdin closes
#   I  idle: echo; the client reads SIZE bytes back, sends nothing more and expects an EOF
#      (the gateway's idle timeout) within 60 s
# Each connection's bytes are its own rotation of one random buffer, so bytes crossing
# between connections, lost, repeated or reordered all show as a mismatch.
import os
import random
import socket
import struct
import sys
import threading

CHUNK = 256 * 1024


def stream(base, k, size):
    """Connection k's bytes: base (doubled) from a per-connection offset."""
    off = (k * 7919) % (len(base) // 2)
    return memoryview(base)[off:off + size]


def say(line):
    """One line in one write: the server's threads share stdout."""
    os.write(1, (line + "\n").encode())


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("EOF in header")
        buf += b
    return buf


def check_recv(s, want):
    """Reads to EOF and compares with want; returns (ok, what)."""
    got = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        if got + len(b) > len(want) or want[got:got + len(b)] != b:
            return False, "wrong bytes at %d" % got
        got += len(b)
    if got != len(want):
        return False, "clean EOF after %d of %d bytes" % (got, len(want))
    return True, "%d bytes" % got


def serve_conn(c, base):
    try:
        cmd, size, k = struct.unpack("!cQI", recv_exact(c, 13))
        if cmd in (b"E", b"H", b"I"):
            while True:
                b = c.recv(CHUNK)
                if not b:
                    break
                c.sendall(b)
            c.shutdown(socket.SHUT_WR)
            while c.recv(CHUNK):
                pass
        elif cmd == b"P":
            c.sendall(stream(base, k, size))
            c.shutdown(socket.SHUT_WR)
            ok, what = check_recv(c, stream(base, k + 1, size))
            say("push %s %s" % ("ok" if ok else "BAD", what))
        elif cmd == b"R":
            c.sendall(stream(base, k, size))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError as e:
        say("server %s" % os.strerror(e.errno or 0))
    except EOFError:
        pass
    finally:
        c.close()


def serve(addr, port, base):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_conn, args=(c, base), daemon=True).start()


def send_all(s, data, results, k):
    try:
        for i in range(0, len(data), CHUNK):
            s.sendall(data[i:i + CHUNK])
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        results[k] = ("reset", "send: " + os.strerror(e.errno or 0))


def client_conn(cmd, addr, port, base, k, size, results):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    try:
        s.connect((addr, port))
        s.sendall(struct.pack("!cQI", cmd, size, k))
        if cmd == b"E":
            w = threading.Thread(target=send_all, args=(s, stream(base, k, size), results, k))
            w.start()
            ok, what = check_recv(s, stream(base, k, size))
            w.join()
        elif cmd == b"H":
            s.sendall(stream(base, k, size))
            if recv_exact(s, size) != stream(base, k, size):
                raise EOFError("wrong bytes")
            print("echoed", flush=True)
            sys.stdin.read()
            s.shutdown(socket.SHUT_WR)
            ok, what = check_recv(s, b"")
        elif cmd == b"I":
            s.sendall(stream(base, k, size))
            s.settimeout(60)
            ok, what = check_recv(s, stream(base, k, size))
        elif cmd == b"P":
            ok, what = check_recv(s, stream(base, k, size))
            if ok:
                send_all(s, stream(base, k + 1, size), results, k)
                while s.recv(CHUNK):
                    pass
        else:
            ok, what = check_recv(s, stream(base, k, size))
            if ok:
                ok, what = False, "clean EOF where the server reset"
        if k not in results:
            results[k] = ("ok" if ok else "BAD", what)
    except socket.timeout:
        results[k] = ("BAD", "no EOF in time")
    except EOFError as e:
        results[k] = ("BAD", str(e))
    except OSError as e:
        results[k] = ("reset", os.strerror(e.errno or 0))
    finally:
        s.close()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__ or "usage: s46xfer.py serve|echo|push|reset|hold ADDR PORT ...")
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = sys.argv[4:]
    conns = int(args[args.index("--conns") + 1]) if "--conns" in args else 1
    size = int(args[args.index("--size") + 1]) if "--size" in args else 5 << 20
    # The same bytes on both sides: a fixed seed.
    base = random.Random(46).randbytes(8 << 20)
    base = base + base
    if mode == "serve":
        serve(addr, port, base)
    cmd = {"echo": b"E", "push": b"P", "reset": b"R", "hold": b"H", "idle": b"I"}[mode]
    results = {}
    threads = [threading.Thread(target=client_conn,
                                args=(cmd, addr, port, base, k, size, results))
               for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    count = {}
    for st, what in results.values():
        count[st] = count.get(st, 0) + 1
        if st == "BAD":
            print("BAD: %s" % what)
    want_reset = mode == "reset"
    print("%s: %d ok, %d reset, %d bad of %d (%d bytes each)" % (
        mode, count.get("ok", 0), count.get("reset", 0), count.get("BAD", 0), conns, size))
    if count.get("BAD") or len(results) != conns:
        sys.exit(1)
    if count.get("reset") and not (want_reset or "--allow-reset" in args):
        for st, what in results.values():
            if st == "reset":
                print("reset: %s" % what)
                break
        sys.exit(1)
    if want_reset and count.get("reset", 0) != conns:
        sys.exit(1)


main()
