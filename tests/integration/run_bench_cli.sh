#!/usr/bin/env bash
# sipreg bench register against sipreg serve on loopback: 200 users imported the way the SIPp
# harness does it; an open-loop run of about 3 s, a closed-loop run, a storm with --unregister
# and a run with threads, each asserting its counts (every registration succeeds, none is
# retransmitted, the store holds every user, the unregister phase empties it), then the flag
# errors (named, exit 2). The server answers 401s without a reply budget (--reply-rate 0):
# all load comes from one address.
set -euo pipefail
bin=${1:?usage: run_bench_cli.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need ss python3

db=$work/reg.db
for i in $(seq 1 200); do printf 'user%05d pass-user%05d\n' "$i" "$i"; done >"$work/users.txt"
"$bin" user import "$work/users.txt" --db "$db" --domain bench.local >/dev/null
free_port port
start_server "$work/serve.log" --listen "127.0.0.1:$port" --db "$db" --domain bench.local \
  --reply-rate 0
ok "server started on 127.0.0.1:$port"

# bench NAME ARGS...: runs sipreg bench register --json; $out: its summary flattened to
# PATH=VALUE lines (PATH: dot-separated keys), $rc: its exit status
flatten() {
  python3 -c 'import json,sys
def f(p,v):
    if isinstance(v,dict):
        for k,x in v.items(): f(p+[k],x)
    else: print(".".join(p)+"="+(str(v).lower() if isinstance(v,bool) else str(v)))
f([],json.loads(sys.stdin.read()))'
}
bench() {
  local name=$1 json
  shift
  rc=0
  json=$(timeout 30 "$bin" bench register --target "127.0.0.1:$port" --users 200 --json "$@" \
    2>"$work/$name.err") || rc=$?
  out=$(flatten <<<"$json" 2>&1) || true
  if [ "$rc" = 0 ]; then ok "$name: exit 0"; else bad "$name: exit $rc" "$json" "$(tail -3 "$work/$name.err")"; fi
}
field() { sed -n "s/^$2=//p" <<<"$1"; }

# expect NAME FLAT PATH VALUE
expect() {
  local got
  got=$(field "$2" "$3")
  if [ "$got" = "$4" ]; then ok "$1: $3 = $4"; else bad "$1: $3 = $got, expected $4" "$2"; fi
}

bench open-loop --rate 300 --duration 3
expect open-loop "$out" register.started 900
expect open-loop "$out" register.ok 900
expect open-loop "$out" register.failed 0
expect open-loop "$out" register.timeouts 0
expect open-loop "$out" register.retransmissions 0
expect open-loop "$out" register.requests_sent 1800
check "open-loop: a progress line each second on stderr" \
  test "$(grep -c 'ok [0-9]* failed 0 outstanding' "$work/open-loop.err")" -ge 2
bindings=$("$bin" bindings --db "$db")
check "bindings: all 200 users are registered" \
  test "$(grep -cE '^sip:user00[0-9]{3}@bench.local[[:space:]]+sip:user00[0-9]{3}@127.0.0.1:' \
    <<<"$bindings")" = 200

bench closed-loop --max --concurrency 20 --duration 1 --threads 2
expect closed-loop "$out" register.failed 0
expect closed-loop "$out" register.timeouts 0
check "closed-loop: registrations completed" test "$(field "$out" register.ok)" -gt 100

before=$("$bin" bindings --db "$db" | wc -l)
bench storm --storm --unregister
expect storm "$out" storm.ok 200
expect storm "$out" all_registered true
expect storm "$out" unregister.started 200
expect storm "$out" unregister.ok 200
check "storm: a time until all were registered" \
  grep -qE '^all_registered_ms=[0-9]+\.[0-9]+$' <<<"$out"
# each run registers its own contact (its own port): the storm's 200 are gone again
check "bindings: --unregister removed the storm's 200 bindings" \
  test "$("$bin" bindings --db "$db" | wc -l)" = "$before"

# the text summary
rc=0
text=$(timeout 30 "$bin" bench register --target="127.0.0.1:$port" --users=50 --rate=100 \
  --duration=1 --threads=2 2>/dev/null) || rc=$?
check "text: exit 0" test "$rc" = 0
check "text: counts" grep -q "^registrations: 100 started, 100 ok, 0 failed, 0 timeouts" <<<"$text"
check "text: latency percentiles" grep -qE "p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+ p99.9 [0-9.]+" <<<"$text"

# a wrong password: every registration fails with 401 (exit 1), counted by status
rc=0
out=$(timeout 30 "$bin" bench register --target "127.0.0.1:$port" --users 5 --rate 10 \
  --duration 1 --password-pattern 'wrong-%s' --json 2>/dev/null) || rc=$?
out=$(flatten <<<"$out")
check "wrong password: exit 1" test "$rc" = 1
expect "wrong password" "$out" register.failures.401 10
expect "wrong password" "$out" register.ok 0

# flag errors: named, exit 2, nothing sent
flag_error() { # flag_error NAME EXPECTED-TEXT ARGS...
  local name=$1 want=$2 err rc=0
  shift 2
  err=$("$bin" bench register "$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" = 2 ] && grep -qF -- "$want" <<<"$err"; then ok "flags: $name"; else
    bad "flags: $name (exit $rc)" "$err"; fi
}
t="--target 127.0.0.1:$port"
flag_error "bad rate" "sipreg bench: --rate: expects a whole number" $t --users 5 --rate abc --duration 1
flag_error "bad rate with =" "sipreg bench: --rate: expects" $t --users 5 --rate=0 --duration 1
flag_error "missing value" "sipreg bench: --duration needs a value" $t --users 5 --rate 5 --duration
flag_error "rate and max" "sipreg bench: --rate: not with --max" $t --users 5 --rate 5 --max --duration 1
flag_error "no mode" "sipreg bench: --rate: required" $t --users 5 --duration 1
flag_error "no duration" "sipreg bench: --duration: required" $t --users 5 --max
flag_error "no target" "sipreg bench: --target: required" --users 5 --max --duration 1
flag_error "bad target" "sipreg bench: --target: expects" --target localhost --users 5 --max --duration 1
flag_error "bad users" "sipreg bench: --users: expects" $t --users 0 --max --duration 1
flag_error "bad pattern" "sipreg bench: --user-pattern: expects one %d" $t --users 5 --max \
  --duration 1 --user-pattern 'u%s'
flag_error "storm with rate" "sipreg bench: --storm:" $t --users 5 --storm --rate 5
flag_error "unknown flag" "sipreg bench: unknown flag '--bogus'" $t --users 5 --bogus
rc=0
"$bin" bench nonsense >/dev/null 2>&1 || rc=$?
check "unknown benchmark: exit 2" test "$rc" = 2

stop_server
check "server stopped cleanly" test "$srv_rc" = 0
check "server log: no sanitizer report" sanitizer_clean "$work/serve.log"
for f in "$work"/*.err; do
  check "bench $(basename "$f" .err): no sanitizer report" sanitizer_clean "$f"
done
finish
