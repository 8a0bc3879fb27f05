#!/usr/bin/python3
"""notify_listen.py — plays systemd's side of sd_notify(3): binds SOCKET (a path, or an
abstract name with a leading '@') and appends every datagram to OUT as one line
"PID MESSAGE", the sender's pid from SCM_CREDENTIALS and the message's newlines as ';'."""
import os
import socket
import struct
import sys


def main():
    name, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind("\0" + name[1:] if name.startswith("@") else name)
    with open(out, "a", buffering=1) as f:
        f.write("listening\n")
        while True:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = 0
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", data[:12])[0]
            f.write("%d %s\n" % (pid, msg.decode(errors="replace").replace("\n", ";")))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        os._exit(0)
