#!/usr/bin/env bash
# sipreg serve against sipsak (Debian's sipsak 0.9.8): OPTIONS, a digest-authenticated
# REGISTER whose binding `sipreg bindings` then shows, a wrong password that gets no binding,
# and an unregister.
#
# sipsak answers only the first challenge of a 401 and computes only MD5 digests: the server's
# default offer (MD5 alone) is what it needs, so no algorithm flag is given. sipsak resolves the domain
# of its target URI, so the domain served is "localhost"; the port goes in -r (sipsak 0.9.8
# mangles a port written in the -s URI).
set -euo pipefail
bin=${1:?usage: run_serve_sipsak.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need sipsak ss

db=$work/reg.db
printf 'S1p-sak pass\n' | "$bin" user add alice --domain localhost --password-stdin --db "$db" \
  >/dev/null
free_port port
start_server "$work/serve.log" --listen "127.0.0.1:$port" --domain localhost --db "$db"
ok "server started on 127.0.0.1:$port"

# run_sipsak NAME ARGS...: sipsak's output in NAME.out, its exit status in $rc
run_sipsak() {
  local name=$1
  shift
  rc=0
  timeout 60 sipsak -H 127.0.0.1 -r "$port" -i -vvv "$@" </dev/null >"$work/$name.out" 2>&1 || rc=$?
}
show() { sed 's/^/     /' "$work/$1.out" | tail -25; }

# shoot mode: OPTIONS, any 200 is success
run_sipsak options -s sip:localhost
if [ "$rc" = 0 ] && grep -q "^SIP/2.0 200 OK" "$work/options.out"; then
  ok "sipsak OPTIONS gets 200"
else
  bad "sipsak OPTIONS gets 200 (sipsak exit $rc)"
  show options
fi

free_port ua1
run_sipsak register -U -s sip:alice@localhost -u alice -a 'S1p-sak pass' -l "$ua1" \
  -C "sip:alice@127.0.0.1:$ua1" -x 600
if [ "$rc" = 0 ] && grep -q "^SIP/2.0 401 Unauthorized" "$work/register.out" &&
  grep -q "^SIP/2.0 200 OK" "$work/register.out"; then
  ok "sipsak registers with the password (401, then 200)"
else
  bad "sipsak registers with the password (sipsak exit $rc)"
  show register
fi
check "the 200 lists sipsak's contact with its expiry" \
  grep -qE "^Contact: <sip:alice@127.0.0.1:$ua1>;expires=(600|599)" "$work/register.out"
check "sipsak answered the MD5 challenge" \
  grep -qE '^Authorization: Digest username="alice".*algorithm=MD5' "$work/register.out"

"$bin" bindings sip:alice@localhost --db "$db" >"$work/bindings1" 2>&1 || true
check "sipreg bindings shows the binding, its expiry and sipsak as user agent" \
  grep -qE "^sip:alice@localhost +sip:alice@127.0.0.1:$ua1 +(600|599|598) +- +udp:127.0.0.1:[0-9]+ +sipsak" \
  "$work/bindings1"

free_port ua2
run_sipsak wrongpw -U -s sip:alice@localhost -u alice -a 'not the password' -l "$ua2" \
  -C "sip:alice@127.0.0.1:$ua2" -x 600
if [ "$rc" != 0 ] && grep -q "authorization failed" "$work/wrongpw.out" &&
  ! grep -q "^SIP/2.0 200" "$work/wrongpw.out"; then
  ok "wrong password: sipsak fails, no 200 (sipsak exit $rc)"
else
  bad "wrong password: sipsak fails, no 200 (sipsak exit $rc)"
  show wrongpw
fi
"$bin" bindings sip:alice@localhost --db "$db" >"$work/bindings2" 2>&1 || true
check "wrong password: no binding for its contact" \
  bash -c '! grep -q "127.0.0.1:$1 " "$2"' _ "$ua2" "$work/bindings2"
check "wrong password: the first binding is still there" grep -q "127.0.0.1:$ua1 " "$work/bindings2"
check "wrong password: logged" grep -q "auth-failed status=401 .*user=alice" "$work/serve.log"

# unregister: the same contact with expires 0
run_sipsak unregister -U -s sip:alice@localhost -u alice -a 'S1p-sak pass' -l "$ua1" \
  -C "sip:alice@127.0.0.1:$ua1" -x 0
if [ "$rc" = 0 ] && grep -q "^SIP/2.0 200 OK" "$work/unregister.out"; then
  ok "sipsak unregisters (expires 0)"
else
  bad "sipsak unregisters (sipsak exit $rc)"
  show unregister
fi
"$bin" bindings sip:alice@localhost --db "$db" >"$work/bindings3" 2>&1 || true
check "no binding left after the unregister" \
  bash -c '! grep -q "^sip:alice@localhost " "$1"' _ "$work/bindings3"
check "log: registered and unregistered" \
  bash -c 'grep -q "info registered aor=sip:alice@localhost contact=sip:alice@127.0.0.1:$1 expires=600 user=alice" "$2" &&
    grep -q "unregistered status=200 .*aor=sip:alice@localhost contact=sip:alice@127.0.0.1:$1" "$2"' \
  _ "$ua1" "$work/serve.log"

check "server still running" kill -0 "$srv_pid"
stop_server
check "SIGTERM stops the server with exit 0 (status $srv_rc)" test "$srv_rc" = 0
check "no sanitizer report in the server log" sanitizer_clean "$work/serve.log"
finish
