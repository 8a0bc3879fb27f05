#!/bin/sh
# seed_fuzz_literal.sh — writes seed inputs for fuzz_literal into DIR: "NAME\nSUFFIX\nPREFIX".
dir=${1:?usage: seed_fuzz_literal.sh DIR}
seed() { printf '%s' "$2" >"$dir/$1"; }
seed plain "2001-db8-6--2.ipv6-literal.net
ipv6-literal.net
64:ff9b::/96"
seed zone "fe80--1sens3.IPV6-LITERAL.NET.

2001:db8::/32"
seed own "--ffff-c000-201.v6.example
.v6.example.
2001:db8:122:344::/64"
seed bad "2001-db8---1s.ipv6-literal.net
ipv6-literal.net
2001:db8:100::/40"
seed other "web6.test

2001:db8:122:300::/56"
