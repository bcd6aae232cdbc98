# Shared by the run_serve_*.sh integration tests (sourced after `set -euo pipefail`, with $bin
# set to the sipreg binary): a temporary directory, checks that count and print one line each,
# free loopback ports, and `sipreg serve` started in the background and stopped by the EXIT trap.
work=$(mktemp -d)
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ beside the helpers in the source tree
pass=0
fail=0
srv_pid=
helper_pids=()
used_ports=" "

cleanup() {
  local p
  for p in "${helper_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  if [ -n "$srv_pid" ]; then
    kill -KILL "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

ok() {
  pass=$((pass + 1))
  echo "ok   $1"
}

# bad NAME [DETAIL LINE]...
bad() {
  fail=$((fail + 1))
  echo "FAIL $1"
  shift
  local l
  for l in "$@"; do echo "     $l"; done
}

# check NAME COMMAND...: passes when COMMAND succeeds
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

# free_port VAR: a UDP port in 20000-39999 that nothing listens on and this script has not
# handed out yet
free_port() {
  local p i
  for i in $(seq 1 500); do
    p=$((20000 + RANDOM % 20000))
    case $used_ports in *" $p "*) continue ;; esac
    if ! ss -Hlun "sport = :$p" | grep -q .; then
      used_ports+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  echo "no free UDP port found" >&2
  return 1
}

# start_server LOG ARGS...: runs `sipreg serve ARGS` in the background (pid in $srv_pid) and
# waits, at most 20 s, until it logs that it is serving. Fails if it exits or never says so.
start_server() {
  local log=$1
  shift
  "$bin" serve "$@" >"$log" 2>&1 &
  srv_pid=$!
  local i
  for i in $(seq 1 400); do
    if grep -q "serving on" "$log"; then return 0; fi
    if ! kill -0 "$srv_pid" 2>/dev/null; then
      wait "$srv_pid" 2>/dev/null || true
      srv_pid=
      echo "sipreg serve exited at start:" >&2
      sed 's/^/     /' "$log" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "sipreg serve did not report 'serving on' within 20 s" >&2
  return 1
}

# stop_server: SIGTERM, then waits at most 20 s (SIGKILL after that). Sets $srv_rc to the exit
# status (137 when it had to be killed).
stop_server() {
  srv_rc=
  [ -n "$srv_pid" ] || return 0
  kill -TERM "$srv_pid" 2>/dev/null || true
  local i
  for i in $(seq 1 400); do
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$srv_pid" 2>/dev/null || true
  srv_rc=0
  wait "$srv_pid" || srv_rc=$?
  srv_pid=
}

# sanitizer_clean LOG: no AddressSanitizer/LeakSanitizer/UBSan/ThreadSanitizer report in LOG
sanitizer_clean() {
  ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehavior|WARNING: ThreadSanitizer" "$1"
}

# need TOOL...: each tool is installed (a missing one is a failure, not a skip)
need() {
  local t
  for t in "$@"; do
    if ! command -v "$t" >/dev/null; then
      echo "FAIL missing tool: $t (scripts/deps.sh installs it)"
      exit 1
    fi
  done
}

finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}
