#!/usr/bin/python3
"""lb_client.py — many connections by name, for the load-balancing tests.

usage: lb_client.py fetch N BODY NAME...
         N sequential HTTP/1.0 GETs of / on NAME:80, the names taken in turn; each
         body must be BODY (a file). Prints "ok K failed F" and, per failure, why.
       lb_client.py hold N NAME PORT GOFILE
         N connections to an echo server at NAME:PORT, each echoing "a"; prints
         "held N", waits for GOFILE to exist, then echoes "b" on each and prints
         "alive K dead D" (a connection that no longer echoes is dead).
"""
import os
import socket
import sys
import time


def fetch(n, body_file, names):
    want = open(body_file, "rb").read()
    ok = failed = 0
    for i in range(n):
        name = names[i % len(names)]
        try:
            with socket.create_connection((name, 80), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: " + name.encode() + b"\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            got = data.split(b"\r\n\r\n", 1)[-1]
            if got != want:
                raise OSError(f"wrong body {got[:40]!r}")
            ok += 1
        except OSError as e:
            failed += 1
            print(f"fetch {i} {name}: {e}", flush=True)
    print(f"ok {ok} failed {failed}", flush=True)


def echo(s, text):
    s.sendall(text)
    got = b""
    while len(got) < len(text):
        chunk = s.recv(64)
        if not chunk:
            raise OSError("closed")
        got += chunk
    if got != text:
        raise OSError(f"echoed {got!r}")


def hold(n, name, port, gofile):
    conns = []
    for _ in range(n):
        s = socket.create_connection((name, port), timeout=10)
        echo(s, b"a\n")
        conns.append(s)
    print(f"held {n}", flush=True)
    for _ in range(1200):  # hang guard: 60 s
        if os.path.exists(gofile):
            break
        time.sleep(0.05)
    alive = dead = 0
    for s in conns:
        try:
            echo(s, b"b\n")
            alive += 1
        except OSError:
            dead += 1
    print(f"alive {alive} dead {dead}", flush=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if sys.argv[1] == "fetch":
        fetch(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "hold":
        hold(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
