#!/usr/bin/python3
"""halfclose.py — sends N bytes to an echo_server.py by name, half-closes, reads to EOF.

usage: halfclose.py HOST PORT N
Prints "True EOF N" when the N bytes came back intact followed by the server's report of the
client's EOF (echo_server.py writes "EOF <bytes>" once it reads the end): proof that the data
and the half-close travelled the whole path, in order.
"""
import socket
import sys


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.create_connection((host, port), timeout=10)
    data = b"x" * n
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        got += c
    print(got[:n] == data, got[n:].decode().strip())


if __name__ == "__main__":
    main()
