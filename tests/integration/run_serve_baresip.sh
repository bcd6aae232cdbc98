#!/usr/bin/env bash
# A real softphone against sipreg serve: baresip (Debian's, libre 1.x) registers with digest
# authentication, refreshes nothing in this short run, and unregisters when it quits.
set -euo pipefail
bin=${1:?usage: run_serve_baresip.sh /path/to/sipreg}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    ss -Hlun "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}
port=$(free_port)
uaport=$(free_port)
db=$work/reg.db
printf 's3cret-pass\n' | "$bin" user add alice --domain example.com --password-stdin --db "$db" >/dev/null
# baresip 1.0 abandons a 401 that carries any non-MD5 challenge: offer MD5 only (see README)
"$bin" serve --listen "127.0.0.1:$port" --domain example.com --db "$db" --algorithms MD5 \
  --log-level debug >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "serving on" "$work/serve.log" && break; sleep 0.05; done
check "server started" grep -q "serving on" "$work/serve.log"

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
check "the binding's user agent is baresip" bash -c "'$bin' bindings sip:alice@example.com --db '$db' | grep -qi baresip"
wait "$ua" || true
check "server logged the registration" grep -q "registered aor=sip:alice@example.com .*user=alice" "$work/serve.log"
check "server logged the unregistration" grep -q "unregistered status=200 .*aor=sip:alice@example.com" "$work/serve.log"
check "the binding is gone after baresip quit" bash -c "! '$bin' bindings sip:alice@example.com --db '$db' | grep -q '127.0.0.1:$uaport'"

# a wrong password never gets a binding
echo "<sip:alice@example.com;transport=udp>;auth_pass=wrong;outbound=\"sip:127.0.0.1:$port\";regint=600" >"$work/ua/accounts"
timeout 20 baresip -f "$work/ua" -t 2 >"$work/ua2.log" 2>&1 || true
check "wrong password: no 200" bash -c "! grep -q '200 OK' '$work/ua2.log'"
check "wrong password: logged as failed authentication" grep -q "auth-failed status=401" "$work/serve.log"
check "server still running" kill -0 "$pid"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
