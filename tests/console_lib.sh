# tests/console_lib.sh: set-up shared by the kdex-console tests (sourced).
#
# Each test gets a scratch directory and HOME of its own, a trap that stops
# every process it started, and, when it asks, a real kdexd (with its
# embedded devnet and the demo market maker) on free loopback ports. A test
# that needs kdexd skips with 77 while kdexd is not built.

set -u
: "${KDEX_BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${KDEX_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
CONSOLE="$KDEX_BUILDDIR/kdex-console"
[ -x "$CONSOLE" ] || { echo "kdex-console not built: $CONSOLE"; exit 99; }

T=$(mktemp -d "${TMPDIR:-/tmp}/console-test.XXXXXX")
export HOME="$T/home"
mkdir -p "$HOME"
unset KDEX_ADMIN_KEY KDEX_ADMIN_URL KDEX_CONSOLE_HISTORY
C_PIDS=""
C_TMUX=""

c_cleanup() {
	for p in $C_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$C_TMUX" ] && tmux -L "$C_TMUX" kill-server 2>/dev/null
	rm -rf "$T"
}
trap c_cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/kdexd.log" ]; then
		# A sanitizer report is most useful from its first lines.
		grep -m1 -A16 "ERROR: .*Sanitizer" "$T/kdexd.log" >&2
		echo "--- kdexd.log (tail)" >&2
		tail -20 "$T/kdexd.log" >&2
	fi
	exit 1
}

# run WANT CMD...: run CMD with stdin from /dev/null, keep its output in
# $T/out and $T/err, and require exit status WANT.
run() {
	want=$1
	shift
	"$@" </dev/null >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout" >&2; cat "$T/out" >&2
		echo "--- stderr" >&2; cat "$T/err" >&2
		fail "'$*' exited $got, expected $want"
	fi
}

# has FILE TEXT: FILE contains the fixed string TEXT.
has() {
	grep -qF -- "$2" "$1" || { echo "--- $1" >&2; cat "$1" >&2;
	    fail "'$2' not in $1"; }
}

hasnt() {
	! grep -qF -- "$2" "$1" || { echo "--- $1" >&2; cat "$1" >&2;
	    fail "'$2' unexpectedly in $1"; }
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Start kdexd --demo on free ports. Sets ADMIN_URL, PUBLIC_URL, KEYFILE and
# KDEXD_PID, and exports nothing: tests pass --url and -k explicitly.
start_kdexd() {
	[ -x "$KDEX_BUILDDIR/kdexd" ] || { echo "SKIP: kdexd not built"; exit 77; }
	tries=0
	while :; do
		pport=$(free_port)
		aport=$(free_port)
		# no periodic reconciliation: the tests run it when they mean to
		KDEXD_RECON_MS=${KDEXD_RECON_MS:-600000} \
		    "$KDEX_BUILDDIR/kdexd" --data "$T/kdexd" \
		    --listen "127.0.0.1:$pport" \
		    --admin-listen "127.0.0.1:$aport" --demo \
		    >"$T/kdexd.log" 2>&1 &
		KDEXD_PID=$!
		C_PIDS="$C_PIDS $KDEXD_PID"
		PUBLIC_URL="http://127.0.0.1:$pport"
		ADMIN_URL="http://127.0.0.1:$aport"
		KEYFILE="$T/kdexd/admin.key"
		i=0
		while [ $i -lt 150 ]; do
			if curl -fsS "$PUBLIC_URL/health" >/dev/null 2>&1 &&
			    [ -s "$KEYFILE" ]; then
				demo_quoted ||
				    fail "the demo maker placed no orders"
				return 0
			fi
			kill -0 "$KDEXD_PID" 2>/dev/null || break
			sleep 0.2
			i=$((i + 1))
		done
		kill "$KDEXD_PID" 2>/dev/null
		wait "$KDEXD_PID" 2>/dev/null
		tries=$((tries + 1))
		# A port taken between the pick and the bind: try again.
		[ $tries -lt 3 ] || fail "kdexd did not start"
	done
}

# The demo maker quotes from kdexd's 100 ms timer, a moment after /health
# answers (later on a loaded machine): wait up to 10 s for its orders, which
# the tests look for in "users list".
demo_quoted() {
	j=0
	while [ $j -lt 50 ]; do
		kc -c "users list" </dev/null 2>/dev/null |
		    awk -F'\t' '$4 > 0 { f = 1 } END { exit !f }' && return 0
		sleep 0.2
		j=$((j + 1))
	done
	return 1
}

# kc ARGS...: kdex-console against the test's kdexd.
kc() {
	"$CONSOLE" --url "$ADMIN_URL" --admin-key-file "$KEYFILE" "$@"
}
