#!/usr/bin/env bash
# Durability of sipreg serve (SQLite store, the default): 2000 users register as fast as a
# small load generator (lib/reg_load.py) can, and the server gets SIGKILL in the middle of the
# load, with registrations in flight. After a restart on the same file, every registration
# that was answered 200 OK must be there (with its Call-ID); registrations committed whose 200
# was lost are allowed. The file passes PRAGMA integrity_check, a challenge issued before the
# crash is still valid after it (the nonce secret is in the store), and the restarted server
# registers. Once with one worker, once with two.
#
# The server runs with --reply-rate 0: all 2000 clients share 127.0.0.1, and the per-source
# budget for unauthenticated replies (the 401s) would otherwise hold them back.
set -euo pipefail
bin=${1:?usage: run_serve_durability.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need python3 sqlite3 ss
export PYTHONPATH=$here/lib

nusers=2000
kill_after=800
for ((i = 1; i <= nusers; i++)); do printf 'user%05d pass-user%05d\n' "$i" "$i"; done >"$work/users"

# case LABEL WORKERS
run_case() {
  local label=$1 workers=$2 port summary
  local db=$work/$label.db log1=$work/$label-1.log log2=$work/$label-2.log
  "$bin" user import "$work/users" --domain example.com --db "$db" >/dev/null
  free_port port
  start_server "$log1" --listen "127.0.0.1:$port" --domain example.com --db "$db" \
    --workers "$workers" --reply-rate 0
  ok "$label: server started ($workers worker(s), $nusers users imported)"

  # a challenge taken now, answered after the crash and restart
  python3 - "$port" "$work/$label.challenge" <<'PY'
import json, sys
import sipudp
c = sipudp.Client(("127.0.0.1", int(sys.argv[1])))
r = c.request(sipudp.register("user00001", "example.com", c.local, c.new_branch(), "early-1", 1))
assert r is not None and r.status == 401, r and r.start
json.dump(r.challenges()["MD5"], open(sys.argv[2], "w"))
PY

  local victim=$srv_pid rc=0
  summary=$(python3 "$here/lib/reg_load.py" --server "127.0.0.1:$port" --users "$work/users" \
    --domain example.com --window 64 --ok-file "$work/$label.ok" \
    --failed-file "$work/$label.failed" --kill-pid "$victim" --kill-after "$kill_after")
  if kill -0 "$victim" 2>/dev/null && ! grep -q '"killed": true' <<<"$summary"; then
    kill -KILL "$victim" # the load never reached the kill point: fail below, do not hang
  fi
  wait "$victim" 2>/dev/null || rc=$? # (no "Killed" notice from bash)
  srv_pid=
  echo "     load: $summary"
  check "$label: SIGKILL hit the server mid-load (exit status $rc)" \
    bash -c '[ "$1" = 137 ] && grep -q "\"killed\": true" <<<"$2" && ! grep -q "\"unanswered\": 0," <<<"$2"' \
    _ "$rc" "$summary"
  check "$label: at least $kill_after registrations answered 200 before the kill" \
    test "$(wc -l <"$work/$label.ok")" -ge "$kill_after"
  check "$label: no registration refused before the kill" test ! -s "$work/$label.failed"

  free_port port
  start_server "$log2" --listen "127.0.0.1:$port" --domain example.com --db "$db" \
    --workers "$workers" --reply-rate 0
  ok "$label: server restarted on the same file"
  "$bin" bindings --json --db "$db" >"$work/$label.json"
  check "$label: every registration answered 200 is stored, with its Call-ID" \
    python3 - "$work/$label.ok" "$work/$label.json" <<'PY'
import json, sys
stored = {(b["aor"], b["call_id"]) for b in json.load(open(sys.argv[2]))}
acked = [tuple(l.split()) for l in open(sys.argv[1]) if l.strip()]
lost = [a for a in acked if a not in stored]
print("     %d answered 200, %d stored, %d lost" % (len(acked), len(stored), len(lost)))
assert not lost, lost[:10]
PY
  # the replay tracker does not survive a crash, so neither may the nonces it counted: one
  # issued before gets a fresh challenge with stale=true, which the client follows at once
  check "$label: a nonce issued before the crash gets stale=true after the restart, then 200" \
    python3 - "$port" "$work/$label.challenge" <<'PY'
import json, sys
import sipudp
c = sipudp.Client(("127.0.0.1", int(sys.argv[1])))
ch = json.load(open(sys.argv[2]))
auth = sipudp.authorization(ch, "MD5", "user00001", "pass-user00001", "REGISTER", "sip:example.com")
r = c.request(sipudp.register("user00001", "example.com", c.local, c.new_branch(), "early-1", 2,
                              auth=auth))
assert r is not None and r.status == 401, r and r.start
chs = r.challenges()
assert chs and all(x.get("stale", "").lower() == "true" for x in chs.values()), chs
auth = sipudp.authorization(chs["MD5"], "MD5", "user00001", "pass-user00001", "REGISTER",
                            "sip:example.com")
r = c.request(sipudp.register("user00001", "example.com", c.local, c.new_branch(), "early-1", 3,
                              auth=auth))
assert r is not None and r.status == 200, r and r.start
PY
  check "$label: the restarted server registers a user" python3 - "$port" <<'PY'
import sys
import sipudp
c = sipudp.Client(("127.0.0.1", int(sys.argv[1])))
first, final = c.register_auth("user02000", "pass-user02000", "example.com", "after-restart")
assert final is not None and final.status == 200, final and final.start
PY
  stop_server
  check "$label: SIGTERM stops the restarted server with exit 0 (status $srv_rc)" test "$srv_rc" = 0
  check "$label: PRAGMA integrity_check is ok" \
    bash -c '[ "$(sqlite3 "$1" "PRAGMA integrity_check")" = ok ]' _ "$db"
  check "$label: no sanitizer report in the server logs" \
    bash -c 'for f; do ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$f" || exit 1; done' \
    _ "$log1" "$log2"
}

run_case one-worker 1
run_case two-workers 2
finish
