#!/bin/sh
# seed_fuzz_dstmatch.sh — writes seed selectors for fuzz_dstmatch into DIR: a flags byte, a port,
# 16 address bytes, then "TO\nPORT\nNAME".
dir=${1:?usage: seed_fuzz_dstmatch.sh DIR}
v4='\313\000\161\002\000\000\000\000\000\000\000\000\000\000\000\000'
v6='\040\001\015\270\000\006\000\000\000\000\000\000\000\000\000\002'
seed() { printf "$2" >"$dir/$1"; }
seed cidr4 "\001\000\120$v4"'203.0.113.0/24\n80-90\n'
seed cidr6 "\005\001\273$v6"'2001:db8::/32\n443\n'
seed defer "\002\000\120$v4"'198.51.100.0/24\n80\nweb4.test'
seed suffix "\002\000\120$v4"'.Example.COM.\n1-65535\nwww.example.com.'
seed name "\003\000\026$v4"'exact.test\n22\nEXACT.test'
seed any "\007\000\065$v6"'*\n53\nresolver.test'
seed mapped "\005\000\120"'\000\000\000\000\000\000\000\000\000\000\377\377\313\000\161\002''::ffff:203.0.113.0/120\n80\n'
seed bad "\002\000\000$v4"'a..b\n0\nx'
