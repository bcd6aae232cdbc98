#!/usr/bin/env bash
# sipreg register when the registrar's name does not resolve at first (a device booting before
# its network): it reports the error, keeps retrying with backoff, and registers once the name
# resolves; --once fails fast instead. The client runs in its own mount namespace with a private
# /etc/hosts (edited in place during the test) and an nsswitch.conf that only reads files.
set -euo pipefail
bin=${1:?usage: run_client_dns.sh /path/to/sipreg}
. "$(dirname "$0")/lib/serve_common.sh"
need unshare
free_port port
printf '127.0.0.1 localhost\n' >"$work/hosts"
printf 'hosts: files\n' >"$work/nsswitch.conf"
printf 'pw-bob\n' >"$work/pw"
"$bin" user add bob --domain example.com --password-stdin --db "$work/r.db" <"$work/pw" >/dev/null
check "server started" start_server "$work/serve.log" --listen "127.0.0.1:$port" \
  --domain example.com --domain late.test --db "$work/r.db"
ns() { # runs "$@" with the private resolver files
  unshare -m bash -c "mount --bind '$work/hosts' /etc/hosts && \
    mount --bind '$work/nsswitch.conf' /etc/nsswitch.conf && exec \"\$@\"" _ "$@"
}

# --once with a name that does not resolve: a prompt failure, not a hang
rc=0
start=$(date +%s)
ns timeout 30 "$bin" register sip:bob@example.com --registrar "sip:late.test:$port" \
  --password-file "$work/pw" --once >"$work/once.log" 2>&1 || rc=$?
check "--once exits 1 when the name does not resolve" test "$rc" = 1
check "--once says why" grep -q "cannot resolve the registrar's name" "$work/once.log"
check "--once fails within 10 s" test $(($(date +%s) - start)) -lt 10

# kept running: errors while the name is missing, then registered when it appears
# started as a plain command, not through ns(): $! is then the process that ends up as sipreg
unshare -m bash -c "mount --bind '$work/hosts' /etc/hosts && \
  mount --bind '$work/nsswitch.conf' /etc/nsswitch.conf && exec \"\$@\"" _ \
  "$bin" register sip:bob@example.com --registrar "sip:late.test:$port" --password-file "$work/pw" \
  --retry-min 1 --retry-max 2 >"$work/reg.log" 2>&1 &
client=$!
helper_pids+=("$client")
for _ in $(seq 1 100); do grep -q "cannot resolve" "$work/reg.log" && break; sleep 0.05; done
check "the failure is reported as an error with a retry time" \
  grep -qE 'error .*cannot resolve the registrar.s name.*retry-in' "$work/reg.log"
check "the client keeps running" kill -0 "$client"
printf '127.0.0.1 late.test\n' >>"$work/hosts" # in place: the bind mount sees it
for _ in $(seq 1 200); do grep -q 'registered 200' "$work/reg.log" && break; sleep 0.05; done
check "registered once the name resolves" grep -q 'registered 200 "OK"' "$work/reg.log"
check "the binding is there" bash -c "'$bin' bindings sip:bob@example.com --db '$work/r.db' | grep -q 127.0.0.1"
kill -TERM "$client"
crc=0
wait "$client" || crc=$?
check "SIGTERM: the client unregisters and exits 0" test "$crc" = 0
check "the binding is gone" bash -c "! '$bin' bindings sip:bob@example.com --db '$work/r.db' | grep -q 127.0.0.1"
stop_server
check "server stopped cleanly" test "$srv_rc" = 0
finish
