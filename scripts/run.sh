#!/usr/bin/env bash
# The main job: the registrar on 127.0.0.1:5060 with the embedded SQLite store under ./var and a
# demo user, in the foreground (Ctrl-C stops it).
set -euo pipefail
bin=${1:?path to sipreg}
top=$(cd "$(dirname "$0")/.." && pwd)
var=$top/var
mkdir -p "$var"
db=$var/sipreg.db
domain=127.0.0.1
pwfile=$var/demo.password
if [ ! -s "$pwfile" ]; then
  # a fresh random password for this checkout, kept so that configured phones keep working
  (umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=' > "$pwfile")
fi
"$bin" user add demo --domain "$domain" --password-stdin --db "$db" < "$pwfile" >/dev/null
pw=$(cat "$pwfile")
cat <<TXT
$("$bin" --version)

Demo account
  address-of-record  sip:demo@$domain
  username / realm   demo / $domain
  password           $pw   (kept in $pwfile)
  registrar          udp 127.0.0.1:5060

Register with
  sipreg:   $bin register sip:demo@$domain --registrar sip:127.0.0.1:5060 --password-file $pwfile
  sipsak:   sipsak -U -C sip:demo@127.0.0.1:5070 -s sip:demo@$domain -u demo -a $pw -x 3600 -vv
  baresip:  add to ~/.baresip/accounts:  <sip:demo@$domain>;auth_pass=$pw;regint=3600
  linphone: linphonec, then: register sip:demo@$domain sip:127.0.0.1:5060 $pw
List bindings: $bin bindings --db $db

TXT
# The defaults: MD5 challenges only, which every client above answers (baresip 1.0 gives up on a
# 401 as soon as any challenge is not MD5; sipsak and SIPp answer only the first challenge).
exec "$bin" serve --listen 127.0.0.1:5060 --domain "$domain" --db "$db"
