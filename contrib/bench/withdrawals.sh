#!/bin/sh
# contrib/bench/withdrawals.sh: how fast kdexd completes withdrawals on
# chain (issue 5). Starts kdex-devnet (memory) and kdexd on top of it,
# registers one user's storage account with the kdex client, funds it from
# the faucet, queues N withdrawals and waits until every one is completed
# on chain. Prints the completion rate between the first and the last
# completion (the orchestrator's throughput while its queue is full) and
# the load average. Not part of `make check`.
#
#   contrib/bench/withdrawals.sh [N]          (from a build directory)
#   KDEXD_SETTLE_MS=50 contrib/bench/withdrawals.sh 100
#
# KDEX_BUILDDIR names the build directory (default: the current one).
# KDEXD_SETTLE_MS is kdexd's settlement/withdrawal tick (default 1000,
# kdexd's own default); the orchestrator sends one withdrawal per tick.
set -u
N=${1:-40}
B=${KDEX_BUILDDIR:-$(pwd)}
for p in kdex kdexd kdex-devnet; do
	[ -x "$B/$p" ] || { echo "withdrawals.sh: no $B/$p (run from a build dir)" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/kdex-wdbench.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "withdrawals.sh: $*" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

export KDEX_HOME="$T/home"
unset KDEX_PROFILE XDG_CONFIG_HOME
echo 'bench passphrase' >"$T/pass"
FSEED=5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b
"$B/kdex-devnet" --listen "127.0.0.1:$(port)" --memory --faucet-seed $FSEED \
    --token KTA:9 --token USDC:6 >"$T/devnet.json" 2>"$T/devnet.log" &
PIDS="$PIDS $!"
i=0
until [ -s "$T/devnet.json" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
REP=$(json "$T/devnet.json" 'd["api"]') || die "kdex-devnet did not start"
KTA=$(json "$T/devnet.json" '[t["address"] for t in d["tokens"] if t["name"]=="KTA"][0]')
USDC=$(json "$T/devnet.json" '[t["address"] for t in d["tokens"] if t["name"]=="USDC"][0]')
cat >"$T/kdexd.conf" <<EOC
market KTA-USDC base_decimals=9 quote_decimals=6 tick_size=0.0001 lot_size=0.01 min_size=0.01 min_notional=0 maker_fee_ppm=0 taker_fee_ppm=0 base_token=$KTA quote_token=$USDC
EOC
P=$(port)
A=$(port)
KDEXD_DEPOSIT_POLL_MS=200 KDEXD_SETTLE_MS=${KDEXD_SETTLE_MS:-1000} \
    "$B/kdexd" --data "$T/kdexd" --listen "127.0.0.1:$P" \
    --admin-listen "127.0.0.1:$A" --config "$T/kdexd.conf" --keeta-api "$REP" \
    >"$T/kdexd.out" 2>"$T/kdexd.log" &
PIDS="$PIDS $!"
export KDEX_URL="http://127.0.0.1:$P"
i=0
until curl -fsS "$KDEX_URL/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -ge 150 ] && die "kdexd did not start: $(tail -5 "$T/kdexd.log")"
	sleep 0.2
done

k() { "$B/kdex" "$@" --passphrase-file "$T/pass" >"$T/out" 2>"$T/err" || die "kdex $*: $(cat "$T/err")"; }
k key new --kdf min
k wallet setup
S=$(sed -n 's/^storage //p' "$T/out")
k --profile dest key new --kdf min
DEST=$(sed -n 's/^address //p' "$T/out")
k --profile faucet key import --kdf min --type secp256k1 --seed $FSEED
k --profile faucet wallet send "$S" USDC 1000
i=0
until "$B/kdex" --json balances --passphrase-file "$T/pass" 2>/dev/null |
    grep -q '"total":"1000"'; do
	i=$((i + 1))
	[ $i -ge 100 ] && die "the deposit was not credited"
	sleep 0.2
done

# The first through the client (it logs in and caches the JWT), the rest
# with curl on that JWT, so queueing outruns the orchestrator.
k withdraw USDC 1 "$DEST"
JWT=$(json "$KDEX_HOME/sessions/default.json" 'd["token"]') || die "no session"
n=1
while [ $n -lt "$N" ]; do
	curl -fsS -H "Authorization: Bearer $JWT" -H 'content-type: application/json' \
	    -d "{\"token\":\"USDC\",\"amount\":\"1\",\"to\":\"$DEST\"}" \
	    "$KDEX_URL/withdrawals/request" >/dev/null || die "request $n refused"
	n=$((n + 1))
done
ADM="http://127.0.0.1:$A"
KEY=$(tr -d '\n' <"$T/kdexd/admin.key")
i=0
while :; do
	curl -fsS -H "X-Admin-Key: $KEY" "$ADM/admin/withdrawals" >"$T/wd" ||
	    die "GET /admin/withdrawals failed"
	left=$(json "$T/wd" 'sum(1 for w in d["withdrawals"] if w["status"] not in ("completed","failed","canceled"))')
	[ "$left" -eq 0 ] && break
	i=$((i + 1))
	[ $i -ge 1200 ] && die "$left withdrawals still open after 10 minutes"
	sleep 0.5
done
python3 - "$T/wd" "$N" "${KDEXD_SETTLE_MS:-1000}" <<'EOP'
import json, os, sys
w = json.load(open(sys.argv[1]))["withdrawals"]
n = int(sys.argv[2])
done = sorted(x["updated_at"] for x in w if x["status"] == "completed")
bad = [x for x in w if x["status"] != "completed"]
if bad:
    print("not completed:", bad)
    sys.exit(1)
span = (done[-1] - done[0]) / 1000.0
rate = (len(done) - 1) / span if span > 0 else float("inf")
print("%d withdrawals completed on chain; first to last %.2f s: %.1f "
      "withdrawals/s (KDEXD_SETTLE_MS=%s, load average %s)" % (len(done),
      span, rate, sys.argv[3], " ".join(open("/proc/loadavg").read().split()[:3])))
EOP
