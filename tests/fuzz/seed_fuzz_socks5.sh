#!/bin/sh
# seed_fuzz_socks5.sh — writes a seed corpus of well-formed handshakes into $1.
d=${1:?usage: seed_fuzz_socks5.sh DIR}
seed() { printf "$2" >"$d/seed_$1"; }
seed connect4 '\005\001\000\005\001\000\001\306\063\144\002\000\120'
seed connect6 '\005\001\000\005\001\000\004\040\001\015\270\000\006\000\000\000\000\000\000\000\000\000\002\001\273'
seed name '\005\001\000\005\001\000\003\011web6.test\000\120GET /'
seed auth '\005\002\000\002\001\005alice\006secret\005\001\000\003\001x\000\001'
seed reply '\005\000\000\001\177\000\000\001\004\070'
seed udp '\000\000\000\003\010dns.test\000\065data'
seed resolve '\005\001\000\005\360\000\003\011web4.test\000\000'
