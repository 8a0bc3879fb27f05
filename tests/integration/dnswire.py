"""dnswire.py — DNS messages for the test clients: queries built, replies read (RFC 1035, EDNS0 RFC 6891)."""
import socket
import struct

TYPES = {"A": 1, "NS": 2, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qid, name, qtype, edns=0):
    """A query with RD set; qtype a number or a TYPES name; edns != 0 adds OPT with that size."""
    qtype = TYPES[qtype] if isinstance(qtype, str) else qtype
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return msg


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
        if n == 0:
            return off


def records(msg):
    """(id, flags, question, rrs): question is the raw question section when it holds one
    question (else None); rrs lists (section, type, class, ttl, rdata), section an/ns/ar."""
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off, question = 12, None
    for _ in range(qd):
        end = skip_name(msg, off) + 4
        question = msg[off:end] if qd == 1 else None
        off = end
    rrs = []
    for i in range(an + ns + ar):
        off = skip_name(msg, off)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        sec = "an" if i < an else "ns" if i < an + ns else "ar"
        rrs.append((sec, rtype, rclass, ttl, msg[off:off + rdlen]))
        off += rdlen
    return rid, flags, question, rrs


def address(rtype, rdata):
    """The address of an A or AAAA record's rdata, else None."""
    if rtype == 1:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == 28:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    return None
