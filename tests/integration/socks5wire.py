"""socks5wire.py — SOCKS5 wire pieces the test clients share: exact reads, addresses in and out of ATYP form."""
import ipaddress
import struct


class Closed(Exception):
    """The peer closed before all the bytes a read expected."""


def out(*words):
    print(*words, flush=True)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise Closed()
        buf += chunk
    return buf


def recv_all(sock):
    """Everything until the peer's EOF."""
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk


def enc_addr(host, port):
    """ATYP, address and port; the ATYP follows the host's form (IPv4, IPv6 or a name)."""
    try:
        ip = ipaddress.ip_address(host)
        body = (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
    except ValueError:
        body = b"\x03" + bytes([len(host)]) + host.encode()
    return body + struct.pack("!H", port)


def dec_addr(buf, off):
    """(host, port, offset after them) of the ATYP-prefixed address at buf[off]."""
    atyp = buf[off]
    if atyp == 1:
        host, off = str(ipaddress.IPv4Address(buf[off + 1:off + 5])), off + 5
    elif atyp == 4:
        host, off = str(ipaddress.IPv6Address(buf[off + 1:off + 17])), off + 17
    elif atyp == 3:
        n = buf[off + 1]
        host, off = buf[off + 2:off + 2 + n].decode("latin1"), off + 2 + n
    else:
        raise ValueError("atyp %d" % atyp)
    return host, struct.unpack("!H", buf[off:off + 2])[0], off + 2


def read_addr(sock, atyp):
    """(host, port) of an address of type atyp read from sock; None for an unknown ATYP."""
    if atyp == 1:
        host = str(ipaddress.IPv4Address(recv_exact(sock, 4)))
    elif atyp == 4:
        host = str(ipaddress.IPv6Address(recv_exact(sock, 16)))
    elif atyp == 3:
        host = recv_exact(sock, recv_exact(sock, 1)[0]).decode("latin1")
    else:
        return None
    return host, int.from_bytes(recv_exact(sock, 2), "big")
