#!/usr/bin/env bash
# Instructions per authenticated registration of one or more sipreg builds, counted by callgrind
# (exact, unlike CPU time on a shared machine): each build serves with its durable SQLite store
# under valgrind while a closed-loop client performs N1, then N2 complete registrations
# (REGISTER, 401, REGISTER with an MD5 digest, 200), each a new user and Call-ID; the difference
# of the two totals divided by N2 - N1 leaves start-up and shut-down out. Kernel work (sockets,
# fsync) is not counted: it is the same for builds that differ in user-space logic.
#
#   bench/reg_instructions.sh SIPREG... [N1] [N2]     (N1 200, N2 1200 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bins=()
while [ $# -gt 0 ] && [ -x "$1" ]; do bins+=("$(realpath "$1")"); shift; done
[ ${#bins[@]} -gt 0 ] || { echo "usage: reg_instructions.sh SIPREG... [N1] [N2]" >&2; exit 2; }
n1=${1:-200}
n2=${2:-1200}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
for i in $(seq 1 "$n2"); do printf 'user%05d pass-user%05d\n' "$i" "$i"; done >"$work/users"

# run BIN N: total instructions of `serve` while N registrations are made
run() {
  local bin=$1 n=$2 db=$work/reg-$RANDOM.db port=$((21000 + RANDOM % 9000))
  "$bin" user import "$work/users" --db "$db" --domain bench.local >/dev/null
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" serve \
    --listen "127.0.0.1:$port" --db "$db" --domain bench.local --algorithms MD5 \
    --reply-rate 0 --log-level warn 2>"$work/vg.log" &
  local pid=$!
  python3 - "$port" "$n" "$here/../tests/integration/lib" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[3])
import sipudp
port, n = int(sys.argv[1]), int(sys.argv[2])
c = sipudp.Client(("127.0.0.1", port))
for _ in range(200):  # wait for the server under valgrind
    r = c.request(b"OPTIONS sip:bench.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;"
                  b"branch=z9hG4bKw%d\r\nFrom: <sip:w@bench.local>;tag=1\r\nTo: <sip:bench.local>"
                  b"\r\nCall-ID: w\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                  % (c.local[1], time.monotonic_ns()), timeout=0.5)
    if r is not None:
        break
for i in range(1, n + 1):
    u = "user%05d" % i
    _, final = c.register_auth(u, "pass-" + u, "bench.local", "cg-%d" % i)
    assert final is not None and final.status == 200, (i, final and final.start)
PY
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/^summary:/ {print $2}' "$work/cg.out"
}

for bin in "${bins[@]}"; do
  a=$(run "$bin" "$n1")
  b=$(run "$bin" "$n2")
  echo "$bin: $(( (b - a) / (n2 - n1) )) instructions per registration ($a for $n1, $b for $n2)"
done
