#!/bin/bash
# test_agent_badgw.sh — gateways that answer wrongly: the program's connection resets, the agent survives; a trickled reply works.
# Userspace behaviour only: the one-namespace setup of the kernel tests is enough.
. "$(dirname "$0")/../kernel/klib.sh"
ksetup

# A fake SOCKS5 gateway per behaviour, on 127.0.0.1:2000+n.
MODES="garbage nomethod badatyp earlyclose trickle"
n=0
for m in $MODES; do
	kspawn "fake-$m" "$PY" -c 'import socket, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
ok = b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50"
answers = {
    "garbage": b"HTTP/1.1 400 Bad Request\r\n\r\n",
    "nomethod": b"\x05\xff",
    "badatyp": b"\x05\x00\x05\x00\x00\x09\x00\x00\x00\x00\x00\x00",
    "earlyclose": b"\x05\x00",
}
def serve(c):
    c.recv(4096)
    if mode == "trickle":
        for b in b"\x05\x00" + ok:
            c.sendall(bytes([b]))
            time.sleep(0.01)
        c.recv(4096)
        c.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello-trickle\n")
    else:
        c.sendall(answers[mode])
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()' "$m" $((2000 + n))
	n=$((n + 1))
done
n=0
for m in $MODES; do
	wait_tcp 127.0.0.1 $((2000 + n))
	n=$((n + 1))
done

n=0
for m in $MODES; do
	GATEWAYS=127.0.0.1:$((2000 + n)) agent_start
	F4=$(kin "$PY" "$PROBE" dns-udp "$DNS_SRV4" web6.test 1 unconnected | tail -n 1)
	if [ "$m" = trickle ]; then
		kin "$PY" "$PROBE" get "$F4" 80 hello-trickle >/dev/null || fail "a reply trickled byte by byte"
		pass "trickle: a SOCKS5 answer arriving byte by byte is parsed"
	else
		r=$(kin "$PY" "$PROBE" connect-error "$F4" 80)
		case $r in ECONNRESET | eof) pass "$m: the program's connection fails at once ($r)" ;;
		*) fail "$m: $r" ;; esac
	fi
	kill -0 "$AGENT_PID" 2>/dev/null || fail "$m: the agent died"
	agent_status_raw >/dev/null || fail "$m: the agent does not answer"
	agent_stop
	n=$((n + 1))
done
exit 0
