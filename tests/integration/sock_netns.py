#!/usr/bin/python3
"""sock_netns.py — the network namespaces a process's sockets are in.

usage: sock_netns.py PID
Prints one line per socket descriptor of PID: "FD INODE", INODE being the nsfs inode of the
socket's network namespace (what `stat -L -c %i /proc/PID/ns/net` shows for a process in it).
Takes each socket with pidfd_getfd(2) and asks its namespace with ioctl SIOCGSKNS.
"""
import ctypes
import fcntl
import os
import sys

SYS_PIDFD_GETFD = 438
SIOCGSKNS = 0x894C


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pid = int(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    for name in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                continue
        except FileNotFoundError:
            continue
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
        if fd < 0:
            continue
        try:
            ns = fcntl.ioctl(fd, SIOCGSKNS)
            print(name, os.fstat(ns).st_ino)
            os.close(ns)
        except OSError:
            pass
        finally:
            os.close(fd)


if __name__ == "__main__":
    main()
