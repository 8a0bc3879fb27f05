#!/usr/bin/python3
"""agent_ctl.py — values from the agent's status JSON, asked over its control socket or read from stdin.

usage: agent_ctl.py SOCK|- [KEY.PATH...]
  SOCK asks the agent ("status\\n" on its unix socket); - reads the JSON from stdin
  (e.g. `socks46 status --json`). Without KEY prints the JSON; else one line per KEY,
  a dotted path where list indexes are numbers (gateways.0.up); dicts and lists as JSON.
"""
import json
import socket
import sys


def ask(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)  # hang guard
    s.connect(path)
    s.sendall(b"status\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data.decode()
        data += chunk


def get(doc, path):
    v = doc
    for k in path.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    return json.dumps(v) if isinstance(v, (dict, list)) else v


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    text = sys.stdin.read() if sys.argv[1] == "-" else ask(sys.argv[1])
    if len(sys.argv) == 2:
        sys.stdout.write(text)
        return
    doc = json.loads(text)
    for key in sys.argv[2:]:
        print(get(doc, key))


main()
