#!/usr/bin/env bash
# `sipreg register` against `sipreg serve` on loopback: --once (binding added then removed), a
# wrong password (exit 3), no registrar (exit 4), and a long run with keep-alives through a
# registrar crash and restart (the client re-registers, without flooding), then SIGTERM
# removing the binding.
# Usage: run_client_serve.sh PATH-TO-SIPREG. Needs python3.
set -euo pipefail

SIPREG=${1:?usage: run_client_serve.sh PATH-TO-SIPREG}
case "$SIPREG" in /*) ;; *) SIPREG="$PWD/$SIPREG" ;; esac
[ -x "$SIPREG" ] || { echo "run_client_serve: $SIPREG is not executable" >&2; exit 1; }
for tool in python3 timeout; do
	command -v "$tool" >/dev/null || { echo "run_client_serve: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipreg_client_serve.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
unset SIPREG_DB
DB="$WORK/reg.db"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	shift
	for l in "$@"; do echo "    $l"; done
}
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
has() { grep -qE -- "$2" "$1"; }
show() { echo "    --- $1"; sed 's/^/    /' "$1" 2>/dev/null | tail -25; }
free_port() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
udp_bound() { # PORT: 0 when something is bound there
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}
wait_line() { # FILE REGEX SECONDS
	local i
	for i in $(seq $(($3 * 10))); do
		has "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}
count() { grep -cE -- "$2" "$1" || true; }

PORT=$(free_port)
serve_start() {
	"$SIPREG" serve --listen "127.0.0.1:$PORT" --db "$DB" --domain example.com --min-expires 1 \
		>>"$WORK/serve.log" 2>&1 &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	local i
	for i in $(seq 50); do
		udp_bound "$PORT" && return 0
		sleep 0.1
	done
	echo "run_client_serve: sipreg serve did not start" >&2
	show "$WORK/serve.log"
	exit 1
}
bindings() { "$SIPREG" bindings --db "$DB" >"$WORK/bindings" 2>&1 || true; }

printf 'secret\n' | "$SIPREG" user add alice --domain example.com --password-stdin --db "$DB" >/dev/null
printf 'other\n' | "$SIPREG" user add bob --domain example.com --password-stdin --db "$DB" >/dev/null
serve_start

# ---- --once ----
set +e
printf 'secret\n' | timeout 30 "$SIPREG" register sip:alice@example.com \
	--registrar "sip:127.0.0.1:$PORT" --password-stdin --once >"$WORK/once.out" 2>&1
rc=$?
set -e
check "once: exit 0" test "$rc" = 0
check "once: registered, then unregistered" has "$WORK/once.out" 'registered 200 "OK" expires=3600'
check "once: unregistration confirmed" has "$WORK/once.out" 'unregistered 200'
bindings
check "once: no binding left" bash -c "! grep -q 'sip:alice@example.com' '$WORK/bindings'"

# ---- wrong password ----
set +e
printf 'wrong\n' | timeout 30 "$SIPREG" register sip:bob@example.com \
	--registrar "sip:127.0.0.1:$PORT" --password-stdin --once >"$WORK/wrong.out" 2>&1
rc=$?
set -e
check "wrong password: exit 3" test "$rc" = 3 || show "$WORK/wrong.out"
check "wrong password: authentication failed" has "$WORK/wrong.out" 'error 401 "authentication failed"'

# ---- nobody there ----
DEAD=$(free_port)
set +e
t0=$(date +%s%3N)
printf 'secret\n' | timeout 30 "$SIPREG" register sip:alice@example.com \
	--registrar "sip:127.0.0.1:$DEAD" --password-stdin --once --t1 20 >"$WORK/dead.out" 2>&1
rc=$?
t1=$(date +%s%3N)
set -e
check "no registrar: exit 4" test "$rc" = 4 || show "$WORK/dead.out"
check "no registrar: reported as no response" has "$WORK/dead.out" 'error 408 "no response"'
check "no registrar: gave up after Timer F (64*T1 = 1.28 s; took $((t1 - t0)) ms)" test $((t1 - t0)) -ge 1200 -a $((t1 - t0)) -lt 8000

# ---- a long run through a registrar restart ----
printf 'secret\n' >"$WORK/pw"
timeout 120 "$SIPREG" register sip:alice@example.com --registrar "sip:127.0.0.1:$PORT" \
	--password-file "$WORK/pw" --expires 4 --keepalive 1 --keepalive-kind options --t1 50 \
	--retry-min 1 --retry-max 2 >"$WORK/run.out" 2>&1 &
REG=$!
PIDS+=("$REG")
if wait_line "$WORK/run.out" 'registered 200' 10; then ok "run: registered"; else not_ok "run: not registered"; show "$WORK/run.out"; fi
bindings
check "run: the binding is listed" has "$WORK/bindings" 'sip:alice@example.com +sip:alice@127\.0\.0\.1:[0-9]+'
sleep 2.5
n=$(count "$WORK/run.out" 'registered 200')
check "run: refreshed before the 4 s expiry ($n registrations)" test "$n" -ge 2
# the registrar crashes: keep-alives and refreshes time out, the client reports it and retries
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
if wait_line "$WORK/run.out" ' error 408' 15; then ok "run: the lost registrar is noticed"; else not_ok "run: no error while the registrar is down"; show "$WORK/run.out"; fi
sleep 3
before=$(count "$WORK/run.out" 'registered 200')
attempts=$(count "$WORK/run.out" ' registering')
serve_start
ok_after=0
for i in $(seq 150); do
	if [ "$(count "$WORK/run.out" 'registered 200')" -gt "$before" ]; then ok_after=1; break; fi
	sleep 0.1
done
check "run: registered again after the restart" test "$ok_after" = 1 || show "$WORK/run.out"
check "run: no flood while the registrar was down ($attempts attempts)" test "$attempts" -le 6
bindings
check "run: the binding is back" has "$WORK/bindings" 'sip:alice@example.com +sip:alice@127\.0\.0\.1:[0-9]+'
kill -TERM "$REG"
rc=0
wait "$REG" || rc=$?
check "run: SIGTERM exits 0" test "$rc" = 0 || show "$WORK/run.out"
check "run: SIGTERM unregistered" has "$WORK/run.out" 'unregistered 200'
bindings
check "run: no binding after SIGTERM" bash -c "! grep -q 'sip:alice@example.com' '$WORK/bindings'" || show "$WORK/bindings"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
