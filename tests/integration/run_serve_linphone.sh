#!/usr/bin/env bash
# Linphone's console client (Debian's linphone-cli: linphonec, liblinphone 5.1) registers to
# sipreg serve run with its default flags (the default offer, MD5 alone), shows as registered,
# unregisters and quits cleanly.
#
# linphonec is driven through its standard input (a FIFO the script keeps open), one command a
# line: `register IDENTITY PROXY PASSWORD`, `status register`, `unregister`, `quit`; each step
# waits for what it causes (the binding in the store, the status line), never for a fixed time.
# Its HOME and XDG directories are temporary, its rc file gives it a free loopback port (UDP only)
# and no sound card is needed (it logs that it found none and goes on). liblinphone 5.1 never
# starts its SIP transports when it cannot open its database, so the data directory is created
# beforehand.
set -euo pipefail
bin=${1:?usage: run_serve_linphone.sh /path/to/sipreg}
. "$(dirname "$0")/lib/serve_common.sh"
need linphonec ss
trap '' PIPE # a write to a linphonec that has gone fails instead of killing the script

free_port port
free_port uaport
db=$work/reg.db
password='Lin-phone.s3cret' # linphonec's register command splits its arguments at blanks
printf '%s\n' "$password" | "$bin" user add alice --domain example.com --password-stdin --db "$db" \
  >/dev/null
check "server started with the default flags" start_server "$work/serve.log" \
  --listen "127.0.0.1:$port" --domain example.com --db "$db"

home=$work/home
mkdir -p "$home/.config" "$home/.local/share/linphone" "$home/.cache"
cat >"$home/.linphonerc" <<RC
[sip]
sip_port=$uaport
sip_tcp_port=0
sip_tls_port=0
use_ipv6=0
RC

mkfifo "$work/lp.in"
HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share \
  XDG_CACHE_HOME=$home/.cache \
  timeout -k 5 45 linphonec -d 6 -l "$work/linphonec.log" <"$work/lp.in" >"$work/linphonec.out" 2>&1 &
lp=$!
helper_pids+=("$lp")
exec 3>"$work/lp.in"
send() { printf '%s\n' "$1" >&3 || true; }

# until TENTHS COMMAND...: polls COMMAND every 0.1 s, at most TENTHS times
until_ok() {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}
has_binding() {
  "$bin" bindings sip:alice@example.com --db "$db" 2>/dev/null | grep -q "127.0.0.1:$uaport"
}
no_binding() { ! has_binding; }
show_lp() { # the last lines of linphonec's console and of its SIP log, for a failure
  tail -n 15 "$work/linphonec.out" | sed 's/^/     /'
  grep -E "REGISTER|SIP/2.0 [0-9]|Authorization|WWW-Authenticate|error" "$work/linphonec.log" |
    tail -n 20 | cut -c1-200 | sed 's/^/     /'
}

send "register sip:alice@example.com sip:127.0.0.1:$port $password"
registered=0
if until_ok 150 has_binding; then
  registered=1
  ok "linphonec's binding is stored"
else
  bad "linphonec's binding is stored (none within 15 s)"
  show_lp
fi
send "status register"
if until_ok 50 grep -q "registered, identity=sip:alice@example.com" "$work/linphonec.out"; then
  ok "linphonec says it is registered"
else
  bad "linphonec says it is registered"
  show_lp
fi
check "server logged the registration" \
  grep -q "info registered aor=sip:alice@example.com contact=sip:alice@127.0.0.1:$uaport;transport=udp expires=3600 user=alice" \
  "$work/serve.log"
check "the binding's user agent is Linphonec" \
  bash -c "'$bin' bindings sip:alice@example.com --db '$db' | grep -q 'Linphonec/'"
check "linphonec answered the MD5 challenge" \
  grep -qE '^Authorization: +Digest .*algorithm=MD5' "$work/linphonec.log"

send "unregister"
if [ "$registered" = 0 ]; then
  bad "the binding is gone after linphonec unregistered (it never registered)"
elif until_ok 100 no_binding; then
  ok "the binding is gone after linphonec unregistered"
else
  bad "the binding is gone after linphonec unregistered"
  show_lp
fi
check "server logged the unregistration" \
  grep -q "unregistered status=200 .*aor=sip:alice@example.com contact=sip:alice@127.0.0.1:$uaport" \
  "$work/serve.log"

send "quit"
exec 3>&-
lp_rc=0
if until_ok 100 bash -c '! kill -0 "$1" 2>/dev/null' _ "$lp"; then
  wait "$lp" || lp_rc=$?
else
  kill -KILL -- -"$lp" 2>/dev/null || true # timeout's process group: linphonec too
  wait "$lp" || true
  lp_rc="still running 10 s after quit"
fi
check "linphonec quit cleanly (exit $lp_rc)" test "$lp_rc" = 0

stop_server
check "server stopped cleanly" test "$srv_rc" = 0
check "no sanitizer report" sanitizer_clean "$work/serve.log"
finish
