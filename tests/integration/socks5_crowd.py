#!/usr/bin/python3
"""socks5_crowd.py — N SOCKS5 CONNECTs at once, each held open a while; counts how each ended.

usage: socks5_crowd.py [-t SEC] [--hold SEC] SERVER PORT DST DPORT N

Each client greets, asks for CONNECT DST:DPORT, and on success sends one byte,
reads it back (an echo server), keeps the relay HOLD seconds and closes.
Prints one "result COUNT" line per outcome, sorted:
  relayed        success reply and the byte came back
  closed-early   the gateway closed before answering the greeting (a clean refusal)
  rep-XX         a failure reply XX
  error-TEXT     anything else (timeout, reset after the greeting, ...)
"""
import argparse
import asyncio
import collections

from socks5wire import enc_addr


async def one(args, counts):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(args.server, args.port), args.timeout)
    except Exception as e:  # noqa: BLE001 (any failure is an outcome to count)
        counts["error-connect-" + type(e).__name__] += 1
        return
    try:
        w.write(b"\x05\x01\x00")
        await w.drain()
        method = await asyncio.wait_for(r.read(2), args.timeout)
        if len(method) < 2:
            counts["closed-early"] += 1
            return
        w.write(b"\x05\x01\x00" + enc_addr(args.dst, args.dport))
        await w.drain()
        head = await asyncio.wait_for(r.readexactly(4), args.timeout)
        if head[1] != 0:
            counts["rep-%02x" % head[1]] += 1
            return
        await asyncio.wait_for(r.readexactly(6 if head[3] == 1 else 18), args.timeout)
        w.write(b"x")
        await w.drain()
        if await asyncio.wait_for(r.readexactly(1), args.timeout) != b"x":
            counts["error-echo"] += 1
            return
        await asyncio.sleep(args.hold)
        counts["relayed"] += 1
    except Exception as e:  # noqa: BLE001
        counts["error-" + type(e).__name__] += 1
    finally:
        w.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("-t", "--timeout", type=float, default=60)
    p.add_argument("--hold", type=float, default=0.5)
    p.add_argument("server")
    p.add_argument("port", type=int)
    p.add_argument("dst")
    p.add_argument("dport", type=int)
    p.add_argument("n", type=int)
    args = p.parse_args()
    counts = collections.Counter()
    await asyncio.gather(*(one(args, counts) for _ in range(args.n)))
    for k in sorted(counts):
        print("result", k, counts[k], flush=True)


asyncio.run(main())
