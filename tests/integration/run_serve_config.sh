#!/usr/bin/env bash
# sipreg serve's configuration: errors name the file and line or the flag; flags override the
# file; the documented example file is valid.
set -euo pipefail
bin=${1:?usage: run_serve_config.sh /path/to/sipreg}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib/serve_common.sh"
# expect_error NAME EXIT PATTERN -- ARGS...: sipreg serve ARGS exits EXIT, stderr matches PATTERN
expect_error() {
  local name=$1 code=$2 pattern=$3; shift 4
  local rc=0
  "$bin" serve "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" = "$code" ] && grep -qE -- "$pattern" "$work/err"; then
    ok "$name"
  else
    mapfile -t lines <"$work/err"
    bad "$name: exit $rc, stderr:" "${lines[@]}"
  fi
}


cfg=$work/bad.conf
printf '[server]\nlisten = 127.0.0.1:5060\n\nbogus = 1\n' > "$cfg"
expect_error "unknown setting names file:line" 2 "bad.conf:4: unknown setting 'bogus'" -- --config "$cfg"
printf 'domain = example.com\nworkers = many\n' > "$cfg"
expect_error "bad number names file:line" 2 "bad.conf:2: workers expects a whole number from 1 to 64, not .many." -- --config "$cfg"
printf 'domain = example.com\nthis line has no equals sign\n' > "$cfg"
expect_error "missing '=' names file:line" 2 "bad.conf:2: expected 'key = value'" -- --config "$cfg"
printf 'domain = example.com\n[registrar\n' > "$cfg"
expect_error "bad section names file:line" 2 "bad.conf:2: unterminated section" -- --config "$cfg"
printf 'domain = example.com\nlisten = 999.1.1.1:5060\n' > "$cfg"
expect_error "bad address names file:line" 2 "bad.conf:2: '999.1.1.1:5060' is not an address" -- --config "$cfg"
printf 'domain = example.com\nalgorithms = SHA-1\n' > "$cfg"
expect_error "bad algorithm names file:line" 2 "bad.conf:2: 'SHA-1' is not an algorithm" -- --config "$cfg"
expect_error "missing config file" 2 "cannot read config file $work/nope.conf" -- --config "$work/nope.conf"
expect_error "unknown flag named" 2 "unknown flag '--frobnicate'" -- --domain example.com --frobnicate 1
expect_error "--flag=value works too" 2 "--workers expects a whole number" -- --domain=example.com --workers=0
expect_error "a flag that takes no value" 2 "--no-auth takes no value" -- --domain example.com --no-auth=yes
expect_error "bad flag value named" 2 "--workers expects a whole number" -- --domain example.com --workers 0
expect_error "flag without value" 2 "--realm needs a value" -- --domain example.com --realm
expect_error "tcp not offered" 2 "only UDP listening" -- --domain example.com --listen tcp:127.0.0.1:5060
expect_error "no domain" 2 "no domain to serve" -- --listen 127.0.0.1:5060
expect_error "bad log level" 2 "log level is error, warn, info or debug" -- --domain x --log-level loud
expect_error "bad trusted source named" 2 "--trusted-source: '10.0.0.1/8' is not an address prefix" -- --domain x --trusted-source 10.0.0.1/8
printf 'domain = example.com
[domain example.org]
algorithms = SHA-256
' > "$cfg"
expect_error "domain section for a domain not served" 2 "bad.conf:2: \[domain example.org\] is not a domain served" -- --config "$cfg"
printf 'domain = example.com
[domain example.com]
workers = 2
' > "$cfg"
expect_error "general setting in a domain section" 2 "bad.conf:3: 'workers' cannot be set per domain" -- --config "$cfg"
printf 'domain = example.com
[domain example.com]
algorithms = MD4
' > "$cfg"
expect_error "bad per-domain algorithm names file:line" 2 "bad.conf:3: 'MD4' is not an algorithm" -- --config "$cfg"
printf 'domain = example.com
[domain]
' > "$cfg"
expect_error "domain section without a name" 2 "bad.conf:2: '\[domain NAME\]' needs a domain name" -- --config "$cfg"

# per-domain realm and algorithms, and each domain its own realm by default
free_port sport
printf 'listen = 127.0.0.1:%s
domain = example.com
domain = example.org
[domain example.org]
algorithms = SHA-256, MD5
[other]
store = memory
' "$sport" > "$work/two.conf"
check "two-domain config starts" start_server "$work/twodom.log" --config "$work/two.conf"
check "per-domain settings as logged" grep -q "domains example.com (realm example.com, auth MD5), example.org (realm example.org, auth SHA-256,MD5), store memory" "$work/twodom.log"
check "each domain challenges with its own realm and algorithms" python3 - "$sport" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(3)
me = s.getsockname()[1]
for dom, want in (("example.com", ['realm="example.com"', "algorithm=MD5"]),
                  ("example.org", ['realm="example.org"', "algorithm=SHA-256", "algorithm=MD5"])):
    msg = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
           "From: <sip:bob@%s>;tag=1\r\nTo: <sip:bob@%s>\r\nCall-ID: c%s\r\n"
           "CSeq: 1 REGISTER\r\nContact: <sip:bob@127.0.0.1:%d>\r\nUser-Agent: test client 1.0\r\n"
           "Content-Length: 0\r\n\r\n" % (dom, me, dom, dom, dom, dom, me))
    s.sendto(msg.encode(), ("127.0.0.1", port))
    r = s.recv(4096).decode()
    assert r.startswith("SIP/2.0 401 "), r
    for w in want:
        assert w in r, (w, r)
    assert r.count("WWW-Authenticate") == len(want) - 1, r
PY
stop_server

# the documented example is valid; flags override it (listen, db)
free_port sport
sed "s|^db = .*|db = $work/never.db|" "$top/docs/sipreg.conf.example" > "$work/example.conf"
check "example config starts the server" start_server "$work/serve.log" \
  --config "$work/example.conf" --listen "127.0.0.1:$sport" --db "$work/flag.db"
check "settings as logged" grep -q "serving on udp:127.0.0.1:$sport, domains example.com (realm example.com, auth MD5), store $work/flag.db" "$work/serve.log"
check "flag --db overrides the file" test -f "$work/flag.db" -a ! -e "$work/never.db"
stop_server
check "SIGTERM stops cleanly with exit 0" test "$srv_rc" = 0
check "stop is logged" grep -q "SIGTERM received, stopping" "$work/serve.log"

# a port in use is reported, not ignored
free_port sport
python3 -c "import socket,time,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$sport)); sys.stdout.write('bound\n'); sys.stdout.flush(); time.sleep(5)" > "$work/holder" &
helper_pids+=("$!")
for _ in $(seq 1 100); do grep -q bound "$work/holder" && break; sleep 0.05; done
expect_error "busy port reported" 1 "cannot listen on udp:127.0.0.1:$sport" -- --domain example.com --listen "127.0.0.1:$sport" --db "$work/busy.db"

# IPv6 and IPv4 at once: each family is answered from its own socket, received/rport set
free_port sport
check "dual-stack server started" start_server "$work/dual.log" --listen "[::1]:$sport" \
  --listen "127.0.0.1:$sport" --domain example.com --store memory --no-auth
check "dual-stack listening logged" grep -q "serving on udp:\[::1\]:$sport udp:127.0.0.1:$sport" "$work/dual.log"
check "REGISTER over IPv6 and IPv4" python3 - "$sport" <<'PY'
import socket, sys
port = int(sys.argv[1])
for fam, host in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.1")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(3)
    me = s.getsockname()[1]
    h = "[::1]" if fam == socket.AF_INET6 else host
    msg = ("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%d;rport\r\n"
           "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c%d\r\n"
           "CSeq: 1 REGISTER\r\nContact: <sip:bob@%s:%d>\r\nContent-Length: 0\r\n\r\n"
           % (h, me, me, me, h, me))
    s.sendto(msg.encode(), (host, port))
    r = s.recv(4096).decode()
    assert r.startswith("SIP/2.0 200 OK\r\n"), r
    assert ";received=%s;rport=%d" % (host, me) in r, r
    assert "<sip:bob@%s:%d>;expires=3600" % (h, me) in r, r
PY
stop_server
check "no sanitizer report" sanitizer_clean "$work/dual.log"
# two IPv4 listen addresses: each reply leaves from the address its request was sent to
# (RFC 3581 §4: a NAT only lets back what comes from where it sent)
free_port pa
free_port pb
check "two-address server started" start_server "$work/two.log" --listen "127.0.0.1:$pa" \
  --listen "127.0.0.2:$pb" --domain example.com --store memory --no-auth
check "each reply comes from the address its request went to" python3 - "$pa" "$pb" <<'PY'
import socket, sys
for host, port in (("127.0.0.1", int(sys.argv[1])), ("127.0.0.2", int(sys.argv[2]))):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    me = s.getsockname()[1]
    msg = ("OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d;rport\r\n"
           "From: <sip:a@example.com>;tag=1\r\nTo: <sip:example.com>\r\nCall-ID: t%d\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (me, me, me))
    s.sendto(msg.encode(), (host, port))
    data, frm = s.recvfrom(4096)
    assert data.startswith(b"SIP/2.0 200 OK"), data
    assert frm == (host, port), (frm, host, port)
PY
stop_server
finish
