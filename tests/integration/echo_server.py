#!/usr/bin/python3
"""echo_server.py — TCP echo server for relay tests: echoes, answers "EOF <n>" after the client's half-close."""
import socket
import sys
import threading


def serve(conn, peer):
    total = 0
    print(f"conn {peer[0]} {peer[1]}", flush=True)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
            conn.sendall(data)
        # Only reachable after a FIN: proves the half-close was relayed.
        conn.sendall(f"EOF {total}\n".encode())
        conn.shutdown(socket.SHUT_WR)
        print(f"eof {peer[0]} {peer[1]} {total}", flush=True)
    except OSError as e:
        print(f"error {peer[0]} {peer[1]} {e}", flush=True)
    finally:
        conn.close()


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(128)
    while True:
        conn, peer = srv.accept()
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
