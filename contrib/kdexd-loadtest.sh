#!/bin/sh
# kdexd-loadtest.sh BUILDDIR: `make loadtest`. Starts a fresh kdexd (temporary
# data dir, embedded devnet, demo funds, no demo market maker, rate limits
# out of the way) on loopback and runs contrib/loadgen against it. Knobs:
# LOADTEST_SECS (5), LOADTEST_RATE (20000), LOADTEST_SUBS (2000),
# LOADTEST_CONNS (128), LOADTEST_SYNC (full; "normal" skips the fsync per
# batch, to see what the disk costs).
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
ledger-sync ${LOADTEST_SYNC:-full}
CONF
"$B/kdexd" --demo --config "$D/kdexd.conf" --data "$D/data" \
    --listen 127.0.0.1:$P --admin-listen 127.0.0.1:$A \
    >"$D/out" 2>"$D/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$D"' EXIT INT TERM
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
echo "loadtest: kdexd on 127.0.0.1:$P, ledger-sync ${LOADTEST_SYNC:-full}, $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
"$B/contrib/loadgen" -d "${LOADTEST_SECS:-5}" -r "${LOADTEST_RATE:-20000}" \
    -s "${LOADTEST_SUBS:-2000}" -c "${LOADTEST_CONNS:-128}" 127.0.0.1:$P
