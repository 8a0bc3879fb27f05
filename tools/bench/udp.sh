# udp.sh — UDP through the whole path beside the direct path: datagrams/s and loss.
# Sourced by tools/bench/wholepath.sh after lib.sh, with the sink echoing UDP on SINK_PORT.
#
# Saturated runs: each socket keeps BENCH_UDP_WINDOW datagrams of BENCH_UDP_SIZE bytes in
# flight and sends one more per echo, so the path is never idle and the sender spends no CPU
# on datagrams the path would drop; the figure is echoes per second (each datagram crosses
# the path twice). One socket, then BENCH_UDP_SOCKS sockets. Then a paced run offers
# BENCH_UDP_PACE times the whole path's slowest saturated run, open loop, on both paths: the
# loss it prints is the loss below saturation. proxychains4 hooks no UDP: no column.
# shellcheck shell=bash

UDP_SIZE=${BENCH_UDP_SIZE:-1200}
UDP_SOCKS=${BENCH_UDP_SOCKS:-4}
UDP_WINDOW=${BENCH_UDP_WINDOW:-64}
UDP_PACE=${BENCH_UDP_PACE:-0.5}

# udp_run NAME SOCKS KEY [RATE]: one s46bench udp run; the best echo rate of the runs is
# R[NAME:udp_dpsKEY], with that run's loss; the worst loss of any run is R[NAME:udp_maxlossKEY].
udp_run()
{
	local name=$1 n=$2 k=$3 rate=${4:-} line v l e pace=()
	[ -n "$rate" ] && pace=(--rate "$rate")
	line=$(run_bench "$name" udp --conc "$n" --size "$UDP_SIZE" --window "$UDP_WINDOW" \
		"${pace[@]}" --duration "$DUR" --timeout $((DUR + 15)))
	say "    $name udp x$n${rate:+ at $rate/s}: $line"
	e=$(kv "$line" errors)
	R[$name:udp_err$k]=$((${R[$name:udp_err$k]:-0} + ${e:-1}))
	v=$(kv "$line" dps)
	l=$(kv "$line" loss_pct)
	[ "${e:-1}" = 0 ] || v=
	R[$name:udp_dps${k}_runs]="${R[$name:udp_dps${k}_runs]:-} ${v:--}"
	R[$name:udp_loss${k}_runs]="${R[$name:udp_loss${k}_runs]:-} ${l:--}"
	[ -n "$v" ] || return 0
	if better "$v" "${R[$name:udp_dps$k]:-}"; then
		R[$name:udp_dps$k]=$v
		R[$name:udp_loss$k]=$l
	fi
	if better "$l" "${R[$name:udp_maxloss$k]:-}"; then
		R[$name:udp_maxloss$k]=$l
	fi
	return 0
}

# udp_tests: the saturated rounds, then the paced ones (needs the whole path's figure).
udp_tests()
{
	local n
	UDP_LIVE=()
	for n in "${LIVE[@]}"; do
		[ "$n" = proxychains ] || UDP_LIVE+=("$n")
	done
	say "== whole path: udp ($UDP_SIZE-byte datagrams)"
	for _ in $(seq "$RUNS"); do
		for n in "${UDP_LIVE[@]}"; do
			udp_run "$n" 1 1
			udp_run "$n" "$UDP_SOCKS" N
		done
	done
	# The slowest saturated run of the whole path: the machine's load moves the figure, and
	# the paced rate must stay below what the path sustains at its worst.
	UDP_RATE=$(awk -v runs="${R[socks46:udp_dps1_runs]:-${R[direct:udp_dps1_runs]:-}}" \
		-v f="$UDP_PACE" 'BEGIN { n = split(runs, x, " "); m = ""
			for (i = 1; i <= n; i++) if (x[i] != "-" && (m == "" || x[i] + 0 < m)) m = x[i] + 0
			if (m != "") printf "%d", m * f }')
	[ -n "$UDP_RATE" ] && [ "$UDP_RATE" -gt 0 ] || return 0
	for _ in $(seq "$RUNS"); do
		for n in "${UDP_LIVE[@]}"; do
			udp_run "$n" 1 P "$UDP_RATE"
		done
	done
}

udp_table()
{
	row "UDP dgrams/s, 1 socket" udp_dps1
	ratio_row "UDP dgrams/s" udp_dps1 direct
	row "  loss (%)" udp_loss1
	row "UDP dgrams/s, $UDP_SOCKS sockets" udp_dpsN
	ratio_row "UDP dgrams/s" udp_dpsN direct
	row "  loss (%)" udp_lossN
	[ -n "${UDP_RATE:-}" ] || return 0
	row "UDP paced $UDP_RATE/s: dgrams/s" udp_dpsP
	row "  loss (%), worst run" udp_maxlossP
}

udp_targets()
{
	local r1 rn
	r1=$(ratio "${R[socks46:udp_dps1]:-}" "${R[direct:udp_dps1]:-}")
	rn=$(ratio "${R[socks46:udp_dpsN]:-}" "${R[direct:udp_dpsN]:-}")
	target "UDP datagrams/s >= 0.5x direct, $UDP_SIZE bytes, 1 socket ($r1; rounds: $(round_ratios socks46 direct udp_dps1))" \
		"$(verdict "$(printf '%s' "$r1" | tr -d x)" '>=' 0.5)"
	target "UDP datagrams/s >= 0.5x direct, $UDP_SIZE bytes, $UDP_SOCKS sockets ($rn; rounds: $(round_ratios socks46 direct udp_dpsN))" \
		"$(verdict "$(printf '%s' "$rn" | tr -d x)" '>=' 0.5)"
	[ -n "${UDP_RATE:-}" ] || return 0
	target "UDP no loss below saturation (paced at $UDP_RATE/s, loss % per run:${R[socks46:udp_lossP_runs]:- -})" \
		"$(verdict "${R[socks46:udp_maxlossP]:-}" '<=' 0)"
}
