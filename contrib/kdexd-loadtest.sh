#!/bin/sh
# kdexd-loadtest.sh BUILDDIR: `make loadtest`. Starts a fresh kdexd (temporary
# data dir, embedded devnet, demo funds, no demo market maker, rate limits
# out of the way) on loopback and runs contrib/loadgen against it. Knobs:
# LOADTEST_SECS (5), LOADTEST_RATE (20000), LOADTEST_SUBS (2000),
# LOADTEST_CONNS (128), LOADTEST_SYNC (full; "normal" skips the fsync per
# batch, to see what the disk costs), LOADTEST_PIPELINE (unset: kdexd's
# default, yes: the ledger commits and syncs on its own threads while the
# loop goes on; no: on the event loop), LOADTEST_CONF (more kdexd.conf
# lines, e.g. "settle-interval-ms 3600000" to leave settlement out). Besides loadgen's lines it prints the
# CPU seconds kdexd's event loop and its other threads used during the run
# (all phases), and the load average, since the machine may be shared.
set -e
B=${1:-.}
D=$(mktemp -d "${TMPDIR:-/tmp}/kdexd-loadtest.XXXXXX")
P=$((20000 + $$ % 20000))
A=$((P + 1))
cat > "$D/kdexd.conf" <<CONF
demo-maker no
rate-ip 10000000
burst-ip 10000000
rate-user 10000000
burst-user 10000000
max-clients 20000
${LOADTEST_CONF:-}
ledger-sync ${LOADTEST_SYNC:-full}
${LOADTEST_PIPELINE:+ledger-pipeline $LOADTEST_PIPELINE}
CONF
"$B/kdexd" --demo --config "$D/kdexd.conf" --data "$D/data" \
    --listen 127.0.0.1:$P --admin-listen 127.0.0.1:$A \
    >"$D/out" 2>"$D/err" &
pid=$!
lg=
trap 'kill $pid $lg 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$D"' EXIT INT TERM
i=0
until grep -q "kdexd ready" "$D/out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
		echo "kdexd did not start:" >&2
		cat "$D/err" >&2
		exit 1
	fi
	sleep 0.1
done
echo "loadtest: kdexd on 127.0.0.1:$P, ledger-sync ${LOADTEST_SYNC:-full}, ledger-pipeline ${LOADTEST_PIPELINE:-default}, $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
# CPU seconds (user+system) of kdexd's event loop thread and of its other
# threads (embedded devnet, chain worker), from /proc: the figures that do
# not depend on how busy the machine is.
HZ=$(getconf CLK_TCK)
cpu() {
	awk -v hz="$HZ" '{ print ($14 + $15) / hz }' "$1"
}
cpu_others() {
	cat /proc/$pid/task/*/stat 2>/dev/null |
	    awk -v hz="$HZ" -v me="$pid" '$1 != me { t += $14 + $15 }
		END { print t / hz }'
}
placed() {
	curl -s "http://127.0.0.1:$P/metrics" |
	    sed -n 's/^kdexd_orders_total{result="placed"} //p'
}
loop0=$(cpu /proc/$pid/task/$pid/stat)
other0=$(cpu_others)
n0=$(placed)
"$B/contrib/loadgen" -d "${LOADTEST_SECS:-5}" -r "${LOADTEST_RATE:-20000}" \
    -s "${LOADTEST_SUBS:-2000}" -c "${LOADTEST_CONNS:-128}" 127.0.0.1:$P \
    >"$D/loadgen.out" &
lg=$!
# The loop's CPU per order of each phase: read again when loadgen reports
# the end of the closed-loop phase ("max") and of the open-loop one
# ("load"); the fan-out phase follows.
phase() {
	until grep -q "^$1 " "$D/loadgen.out" 2>/dev/null; do
		kill -0 $lg 2>/dev/null || return 0
		sleep 0.05
	done
	echo "$(cpu /proc/$pid/task/$pid/stat) $(placed)"
}
ph1=$(phase max)
ph2=$(phase load)
wait $lg
loop1=$(cpu /proc/$pid/task/$pid/stat)
other1=$(cpu_others)
n1=$(placed)
echo "$loop0 $loop1 $other0 $other1 ${n0:-0} ${n1:-0}" | awk '{
	n = $6 - $5; if (n < 1) n = 1
	printf "cpu kdexd_loop_s=%.2f kdexd_other_threads_s=%.2f orders=%d " \
	    "loop_us_per_order=%.1f\n", $2 - $1, $4 - $3, n,
	    ($2 - $1) * 1e6 / n }'
echo "$loop0 ${n0:-0} ${ph1:-0 0} ${ph2:-0 0}" | awk '$3 > 0 && $5 > 0 {
	n1 = $4 - $2; n2 = $6 - $4; if (n1 < 1) n1 = 1; if (n2 < 1) n2 = 1
	printf "cpu phase=max loop_us_per_order=%.1f phase=rate " \
	    "loop_us_per_order=%.1f\n", ($3 - $1) * 1e6 / n1,
	    ($5 - $3) * 1e6 / n2 }'
# Batches, their size, and how long their answers waited for the sync.
curl -s "http://127.0.0.1:$P/metrics" | awk '
	/^kdexd_batches_total / { b = $2 }
	/^kdexd_batch_commands_total / { c = $2 }
	/^kdexd_batch_hold_seconds_bucket/ {
		split($1, a, "\""); h[a[2]] = $2 }
	/^kdexd_batch_hold_seconds_count / { n = $2 }
	END { if (b > 0 && n > 0)
		printf "batches n=%d commands_per_batch=%.1f held_le_2ms=%.1f%% " \
		    "held_le_5ms=%.1f%% held_le_20ms=%.1f%% " \
		    "held_le_100ms=%.1f%%\n", b, c / b, 100 * h["0.002"] / n,
		    100 * h["0.005"] / n, 100 * h["0.02"] / n,
		    100 * h["0.1"] / n }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# The summary lines last, as make loadtest promises.
grep -v '^load orders_per_s=\|^fanout ' "$D/loadgen.out" || true
grep '^load orders_per_s=\|^fanout ' "$D/loadgen.out"
