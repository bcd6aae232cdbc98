#!/usr/bin/env bash
# A real softphone against sipreg serve: baresip (Debian's, libre 1.x) registers with digest
# authentication and unregisters when it quits; a wrong password never gets a binding.
set -euo pipefail
bin=${1:?usage: run_serve_baresip.sh /path/to/sipreg}
. "$(dirname "$0")/lib/serve_common.sh"
need baresip
free_port port
free_port uaport
db=$work/reg.db
printf 's3cret-pass\n' | "$bin" user add alice --domain example.com --password-stdin --db "$db" >/dev/null
# baresip 1.0 abandons a 401 that carries any non-MD5 challenge: the default offer (MD5 alone)
# lets it register with no algorithm flag (see README)
check "server started" start_server "$work/serve.log" --listen "127.0.0.1:$port" \
  --domain example.com --db "$db" --log-level debug

mkdir -p "$work/ua"
cat >"$work/ua/config" <<CFG
module_path		/usr/lib/baresip/modules
sip_listen		127.0.0.1:$uaport
module			g711.so
module_app		account.so
audio_player		aufile,/dev/null
audio_source		ausine,440
CFG
echo "<sip:alice@example.com;transport=udp>;auth_pass=s3cret-pass;outbound=\"sip:127.0.0.1:$port\";regint=600" >"$work/ua/accounts"
# baresip runs for 4 s: it registers at once and unregisters when it quits
timeout 20 baresip -f "$work/ua" -t 4 >"$work/ua.log" 2>&1 &
ua=$!
helper_pids+=("$ua")
registered=0
for _ in $(seq 1 60); do
  if "$bin" bindings sip:alice@example.com --db "$db" | grep -q "127.0.0.1:$uaport"; then
    registered=1
    break
  fi
  sleep 0.05
done
check "baresip's binding is stored while it runs" test "$registered" = 1
check "baresip saw 200 OK" grep -q "200 OK" "$work/ua.log"
check "the binding's user agent is baresip" \
  bash -c "'$bin' bindings sip:alice@example.com --db '$db' | grep -qi baresip"
wait "$ua" || true
check "server logged the registration" \
  grep -q "registered aor=sip:alice@example.com .*user=alice" "$work/serve.log"
check "server logged the unregistration" \
  grep -q "unregistered status=200 .*aor=sip:alice@example.com" "$work/serve.log"
check "the binding is gone after baresip quit" \
  bash -c "! '$bin' bindings sip:alice@example.com --db '$db' | grep -q '127.0.0.1:$uaport'"

# a wrong password never gets a binding
echo "<sip:alice@example.com;transport=udp>;auth_pass=wrong;outbound=\"sip:127.0.0.1:$port\";regint=600" >"$work/ua/accounts"
timeout 20 baresip -f "$work/ua" -t 2 >"$work/ua2.log" 2>&1 || true
check "wrong password: no 200" bash -c "! grep -q '200 OK' '$work/ua2.log'"
check "wrong password: logged as failed authentication" grep -q "auth-failed status=401" "$work/serve.log"
stop_server
check "server stopped cleanly" test "$srv_rc" = 0
check "no sanitizer report" sanitizer_clean "$work/serve.log"
finish
