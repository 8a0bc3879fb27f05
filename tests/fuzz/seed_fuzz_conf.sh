#!/bin/sh
# seed_fuzz_conf.sh — writes seed gateway configuration files for fuzz_conf into DIR.
dir=${1:?usage: seed_fuzz_conf.sh DIR}
printf '# gateway\nlisten 127.0.0.1:1080\nlisten [::1]:1080\nthreads 2\nlog-level debug\n' >"$dir/basic"
printf 'rule allow from 198.51.100.0/24 to .test port 80\nrule deny\n' >"$dir/rules"
printf 'upstream up 198.51.100.9:1080\nroute to .far.test port 1-1024 via up\nroute direct\n' >"$dir/routes"
printf 'dns-server 203.0.113.53,[2001:db8::53]:5353\nmark 0x5346\nprefer ipv4\n\tidle-timeout 0 # x\n' >"$dir/misc"
