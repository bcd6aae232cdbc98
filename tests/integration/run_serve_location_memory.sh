#!/usr/bin/env bash
# sipreg serve --location memory: bindings in memory, users (and the nonce secret) read from the
# database. Users registered with `sipreg user` authenticate; the bindings never reach the file
# and are gone after a restart, while the users are not. Two workers under a load of 300
# registrations share the limits, the replay tracker and the store (the thread-sanitizer build
# runs this test too).
set -euo pipefail
bin=${1:?usage: run_serve_location_memory.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need python3 ss
export PYTHONPATH=$here/lib

db=$work/reg.db
printf 'pw-alice\n' | "$bin" user add alice --domain example.com --password-stdin --db "$db" >/dev/null
for ((i = 1; i <= 300; i++)); do printf 'user%05d pass-user%05d\n' "$i" "$i"; done >"$work/users"
"$bin" user import "$work/users" --domain example.com --db "$db" >/dev/null
free_port port
check "server started with --location memory" start_server "$work/serve.log" \
  --listen "127.0.0.1:$port" --domain example.com --db "$db" --location memory --workers 2
check "the start-up line says where the bindings are" \
  grep -q "store $db (bindings in memory), 2 workers" "$work/serve.log"

register() {
  python3 - "$port" "$1" <<'PY'
import sys
import sipudp
c = sipudp.Client(("127.0.0.1", int(sys.argv[1])))
first, final = c.register_auth("alice", "pw-alice", "example.com", sys.argv[2])
assert final is not None and final.status == 200, final and final.start
assert len(final.all("Contact")) == int(sys.argv[2][-1]), final.all("Contact")
PY
}
check "a user of the database registers (one binding listed)" register call-1
check "a second client adds a binding (two listed)" register call-2
check "300 registrations, 32 in flight, over two workers" bash -c '
  python3 "$1/lib/reg_load.py" --server "127.0.0.1:$2" --users "$3/users" --domain example.com \
    --window 32 --ok-file "$3/load.ok" --failed-file "$3/load.failed" --deadline 60 >"$3/load.json"
  [ "$(wc -l <"$3/load.ok")" = 300 ] && [ ! -s "$3/load.failed" ]' _ "$here" "$port" "$work"
check "the database holds no binding" \
  bash -c '[ "$("$1" bindings --json --db "$2" | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 0 ]' \
  _ "$bin" "$db"
stop_server
check "SIGTERM stops cleanly" test "$srv_rc" = 0

free_port port
check "restarted" start_server "$work/serve2.log" --listen "127.0.0.1:$port" \
  --domain example.com --db "$db" --location memory
check "after the restart the bindings are gone and the user still registers (one listed)" \
  register call-1
stop_server
check "no sanitizer report" sanitizer_clean "$work/serve.log"
check "no sanitizer report after the restart" sanitizer_clean "$work/serve2.log"

expect_bad() {
  local rc=0
  "$bin" serve --domain example.com --location disk >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] && grep -q -- "--location: location is 'sqlite' or 'memory', not 'disk'" "$work/err"
}
check "a bad --location is named" expect_bad
finish
