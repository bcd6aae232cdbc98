#!/usr/bin/env bash
# Robustness of sipreg serve: 10000 garbled datagrams from one source (random bytes,
# truncated and mutated REGISTERs, extreme numbers, huge and duplicated headers, an oversized
# 65000-byte datagram, empty datagrams, responses), with complete registrations of a real user
# from another source between the bursts (lib/garbage.py). The server must keep running, answer
# every real registration, answer malformed requests that can be answered with 400 and the
# parser's reason, never answer responses or ACKs, stop cleanly, and (in the sanitizer build)
# report nothing. The server keeps its default limits: the garbage source exhausts its own reply
# budget and failure limit, which must not touch the real user's source.
#
# GARBAGE_SEED=N reruns a given sequence (the seed is printed).
set -euo pipefail
bin=${1:?usage: run_serve_garbage.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need python3 ss
export PYTHONPATH=$here/lib

db=$work/reg.db
printf 'Garb4ge-proof\n' | "$bin" user add alice --domain example.com --password-stdin \
  --db "$db" >/dev/null
free_port port
start_server "$work/serve.log" --listen "127.0.0.1:$port" --domain example.com --db "$db" \
  --log-level debug
ok "server started on 127.0.0.1:$port"

seed=${GARBAGE_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "     seed $seed"
start=$(date +%s.%N)
rc=0
timeout 300 python3 "$here/lib/garbage.py" --server "127.0.0.1:$port" --user alice \
  --password Garb4ge-proof --domain example.com --count 10000 --burst 100 --seed "$seed" \
  >"$work/garbage.out" 2>"$work/garbage.err" || rc=$?
while IFS=$'\t' read -r verdict name detail; do
  case $verdict in
    ok) ok "$name" ;;
    FAIL) bad "$name" "$detail" ;;
    "#") echo "     $name" ;;
  esac
done <"$work/garbage.out"
check "the garbage sender finished (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/     /' "$work/garbage.err" | tail -20
echo "     $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }')"

check "server still running after the garbage" kill -0 "$srv_pid"
check "log: malformed datagrams were logged with their reason" \
  grep -q 'debug malformed status=0 reason="[A-Z]' "$work/serve.log"
check "log: the garbage source hit its limits, not the real user's" \
  bash -c 'grep -qE "(blocked|throttled).*src=udp:127.0.0.2:" "$1" &&
    ! grep -qE "(blocked|throttled).*src=udp:127.0.0.1:" "$1"' _ "$work/serve.log"
"$bin" bindings --db "$db" >"$work/bindings" 2>&1 || true
check "bindings: only the real user's binding" \
  bash -c '[ "$(grep -c "^sip:" "$1")" = 1 ] && grep -q "^sip:alice@example.com  *sip:alice@127.0.0.1:" "$1"' \
  _ "$work/bindings"
stop_server
check "SIGTERM stops the server with exit 0 (status $srv_rc)" test "$srv_rc" = 0
check "no sanitizer report in the server log" sanitizer_clean "$work/serve.log"
# most of the garbage reached the server (none of it is lost on loopback unless its socket
# buffer overflows; the empty datagrams are not counted)
rx=$(sed -n 's/.* stopped: \([0-9]*\) datagrams in.*/\1/p' "$work/serve.log")
check "the server read the garbage (${rx:-?} datagrams)" test "${rx:-0}" -ge 8000
finish
