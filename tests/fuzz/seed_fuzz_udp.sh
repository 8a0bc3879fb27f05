#!/bin/sh
# seed_fuzz_udp.sh — writes seed SOCKS5 UDP headers and rule lines for fuzz_udp into DIR.
dir=${1:?usage: seed_fuzz_udp.sh DIR}
printf '\000\000\000\001\313\000\161\002\000\007payload' >"$dir/v4"
printf '\000\000\000\004\040\001\015\270\000\006\000\000\000\000\000\000\000\000\000\002\000\065q' >"$dir/v6"
printf '\000\000\000\003\011web6.test\000\007x' >"$dir/name"
printf '\000\000\001\003\0011\000\007' >"$dir/frag"
printf 'deny from 198.51.100.0/24 user bob cmd connect,udp to .blocked.test port 1-100' >"$dir/rule"
printf 'allow to 2001:db8::/32 port 53' >"$dir/rule6"
