#!/usr/bin/env bash
# `sipreg register` against SIPp UAS scenarios (sipp/uas_*.xml) on loopback: digest 401 with
# SHA-256 and MD5 offered, a refused password, challenges refused by --min-algorithm and --realm,
# requests answered from the registrar only, a stale nonce, 423 Min-Expires, 503 Retry-After,
# lost responses (Timer E, Timer F, retry), a changed granted expiry, TCP, IPv6 (::1); and flag
# errors.
# Usage: run_client_sipp.sh PATH-TO-SIPREG. Needs sipp (package sip-tester) and python3.
set -euo pipefail

SIPREG=${1:?usage: run_client_sipp.sh PATH-TO-SIPREG}
case "$SIPREG" in /*) ;; *) SIPREG="$PWD/$SIPREG" ;; esac
[ -x "$SIPREG" ] || { echo "run_client_sipp: $SIPREG is not executable" >&2; exit 1; }
for tool in sipp python3 timeout; do
	command -v "$tool" >/dev/null || { echo "run_client_sipp: $tool is missing" >&2; exit 1; }
done
SC="$(cd "$(dirname "$0")" && pwd)/sipp"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipreg_client_sipp.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	shift
	for l in "$@"; do echo "    $l"; done
}
check() { # NAME COMMAND...: ok when the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
has() { grep -qE -- "$2" "$1"; } # FILE REGEX
show() { echo "    --- $1"; sed 's/^/    /' "$1" 2>/dev/null | tail -20; }

IP=127.0.0.1
free_port() { # a UDP+TCP port free on $IP now
	python3 - "$IP" <<'EOF'
import socket, sys
ip = sys.argv[1]
fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
while True:
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((ip, 0))
    p = u.getsockname()[1]
    t = socket.socket(fam); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind((ip, p)); print(p); break
    except OSError:
        pass
EOF
}

# wait_bound PORT PROTO: until something listens there (at most 5 s).
wait_bound() {
	local i
	for i in $(seq 50); do
		if python3 - "$1" "$2" "$IP" <<'EOF'; then return 0; fi
import socket, sys
port, proto, ip = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
try:
    if proto == "udp":
        s.bind((ip, port)); sys.exit(1)
    s.connect((ip, port)); sys.exit(0)
except OSError:
    sys.exit(0 if proto == "udp" else 1)
EOF
		sleep 0.1
	done
	return 1
}

# sipp_start NAME [udp|tcp]: the UAS of sipp/uas_NAME.xml on a free port ($PORT), in the background.
sipp_start() {
	local name=$1 proto=${2:-udp} t=u1
	[ "$proto" = tcp ] && t=t1
	PORT=$(free_port)
	timeout 60 sipp -sf "$SC/uas_$name.xml" -i "$IP" -p "$PORT" -t "$t" -m 1 -nostdin \
		-trace_err -error_file "$WORK/$name.err" -trace_msg -message_file "$WORK/$name.msg" \
		>"$WORK/$name.sipp" 2>&1 &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
	wait_bound "$PORT" "$proto" || { echo "run_client_sipp: sipp did not start" >&2; show "$WORK/$name.sipp"; exit 1; }
}
sipp_wait() { # waits for sipp (at most 20 s more); its exit status in $src
	local i
	for i in $(seq 200); do kill -0 "$SIPP_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$SIPP_PID" 2>/dev/null || true
	src=0
	wait "$SIPP_PID" || src=$?
}

hostpart() { case "$IP" in *:*) echo "[$IP]" ;; *) echo "$IP" ;; esac; }
# reg_once NAME ARGS...: sipreg register --once against $IP:$PORT, password "secret"; $rc, $WORK/NAME.out
reg_once() {
	local name=$1
	shift
	set +e
	printf 'secret\n' | timeout 60 "$SIPREG" register sip:alice@example.com \
		--registrar "sip:$(hostpart):$PORT" --password-stdin --once "$@" >"$WORK/$name.out" 2>&1
	rc=$?
	set -e
}
# reg_bg NAME ARGS...: the same without --once, in the background ($REG_PID)
reg_bg() {
	local name=$1
	shift
	printf 'secret\n' >"$WORK/pw"
	timeout 120 "$SIPREG" register sip:alice@example.com --registrar "sip:$(hostpart):$PORT" \
		--password-file "$WORK/pw" "$@" >"$WORK/$name.out" 2>&1 &
	REG_PID=$!
	PIDS+=("$REG_PID")
}
# wait_line FILE REGEX SECONDS
wait_line() {
	local i
	for i in $(seq $(($3 * 10))); do
		has "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}
reg_stop() { # SIGTERM the background client; its exit status in $r
	kill -TERM "$REG_PID" 2>/dev/null || true
	r=0
	wait "$REG_PID" || r=$?
}
# ms of an output line's time stamp (line N matching REGEX)
stamp_ms() {
	local line
	line=$(grep -E -- "$2" "$1" | sed -n "${3:-1}p")
	python3 -c 'import sys, datetime as d; t = d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ"); print(int(t.timestamp() * 1000))' "${line%% *}"
}

# ---- flags ----
set +e
"$SIPREG" register --help >"$WORK/help" 2>&1
rc=$?
set -e
check "register --help exits 0" test "$rc" = 0
check "register --help documents the exit codes" has "$WORK/help" "3 authentication failed"
usage_case() { # NAME NEEDLE ARGS...
	local name=$1 needle=$2
	shift 2
	set +e
	"$SIPREG" register "$@" </dev/null >"$WORK/u.out" 2>&1
	local r=$?
	set -e
	if [ "$r" = 2 ] && has "$WORK/u.out" "$needle"; then ok "$name"; else not_ok "$name" "exit $r" "$(cat "$WORK/u.out")"; fi
}
usage_case "missing --registrar names it" "--registrar" sip:alice@example.com
usage_case "missing AOR" "AOR" --registrar sip:127.0.0.1
usage_case "unknown flag is named" "--frobnicate" sip:a@b --registrar sip:127.0.0.1 --frobnicate 1
usage_case "bad --expires is named" "--expires" sip:a@b --registrar sip:127.0.0.1 --expires soon
usage_case "--flag=value works too" "--expires" sip:a@b --registrar=sip:127.0.0.1 --expires=soon
usage_case "bad --transport is named" "--transport" sip:a@b --registrar sip:127.0.0.1 --transport sctp
usage_case "missing password file is named" "--password-file" sip:a@b --registrar sip:127.0.0.1 --password-file "$WORK/none"
usage_case "empty --password-stdin" "--password-stdin" sip:a@b --registrar sip:127.0.0.1 --password-stdin
usage_case "bad registrar URI" "registrar" sip:a@b --registrar http://x
usage_case "bad --local" "--local" sip:a@b --registrar sip:127.0.0.1 --local nowhere
usage_case "bad --min-algorithm is named" "--min-algorithm" sip:a@b --registrar sip:127.0.0.1 --min-algorithm SHA-1
check "register --help documents --min-algorithm, --require-qop and --realm" \
	bash -c "grep -q -- '--min-algorithm MD5|SHA-256|SHA-512-256' '$WORK/help' && grep -q -- '--require-qop' '$WORK/help' && grep -q -- '--realm: only that realm' '$WORK/help'"

# ---- 401: SHA-256 chosen over MD5, then the unregistration ----
sipp_start auth
reg_once auth --expires 60
check "auth: exit 0" test "$rc" = 0
check "auth: registered after the challenge" has "$WORK/auth.out" 'registered 200 "OK" expires=60'
check "auth: unregistered at the end" has "$WORK/auth.out" 'unregistered 200'
sipp_wait
if [ "$src" = 0 ]; then ok "auth: SIPp saw SHA-256 credentials and Expires: 0"; else not_ok "auth: sipp exit $src" "$(cat "$WORK/auth.err" 2>/dev/null)"; show "$WORK/auth.out"; fi

# ---- the same over TCP ----
sipp_start auth tcp
reg_once auth_tcp --expires 60 --transport tcp
check "tcp: exit 0" test "$rc" = 0 || show "$WORK/auth_tcp.out"
check "tcp: registered with a transport=tcp contact" has "$WORK/auth_tcp.out" 'registered 200 .*transport=tcp'
sipp_wait
check "tcp: SIPp scenario passed" test "$src" = 0

# ---- IPv6 (loopback ::1), UDP and TCP ----
IP=::1
sipp_start auth
reg_once auth6 --expires 60
check "ipv6: exit 0" test "$rc" = 0 || show "$WORK/auth6.out"
check "ipv6: registered with an IPv6 contact" has "$WORK/auth6.out" 'registered 200 .*contact=<sip:alice@\[::1\]:[0-9]+>'
sipp_wait
check "ipv6: SIPp scenario passed" test "$src" = 0
sipp_start auth tcp
reg_once auth6_tcp --expires 60 --transport tcp
check "ipv6 tcp: exit 0" test "$rc" = 0 || show "$WORK/auth6_tcp.out"
sipp_wait
check "ipv6 tcp: SIPp scenario passed" test "$src" = 0
IP=127.0.0.1

# ---- a refused password ----
sipp_start auth_fail
t0=$(date +%s%3N)
reg_once auth_fail --expires 60
t1=$(date +%s%3N)
check "wrong password: exit 3" test "$rc" = 3
check "wrong password: reported as authentication failed" has "$WORK/auth_fail.out" 'error 401 "authentication failed" retry-in=[0-9]{3}'
check "wrong password: no loop (quick exit, one retry only)" test $((t1 - t0)) -lt 5000
sipp_wait
check "wrong password: SIPp scenario passed" test "$src" = 0
n=$(grep -c '^REGISTER sip:' "$WORK/auth_fail.msg" || true)
check "wrong password: exactly two REGISTERs sent" test "$n" = 2

# ---- the challenge policy: what is allowed is answered ----
sipp_start auth
reg_once auth_policy --expires 60 --min-algorithm SHA-256 --require-qop --realm example.com
check "policy: SHA-256 in realm example.com answered (exit 0)" test "$rc" = 0 || show "$WORK/auth_policy.out"
sipp_wait
check "policy: SIPp saw SHA-256 credentials" test "$src" = 0

# refused NAME SCENARIO REASON STDERR-REGEX ARGS...: the UAS's 401 must be refused: exit 3 at
# once, the reason on the state line, a message naming the flag, one REGISTER, no credentials.
refused() {
	local name=$1 scen=$2 reason=$3 msg=$4
	shift 4
	sipp_start "$scen"
	local t0 t1
	t0=$(date +%s%3N)
	reg_once "$name" --expires 60 "$@"
	t1=$(date +%s%3N)
	check "$name: exit 3" test "$rc" = 3 || show "$WORK/$name.out"
	check "$name: reported as \"$reason\"" has "$WORK/$name.out" "error 401 \"$reason\" retry-in=[0-9]{3}"
	check "$name: the message names the flag" has "$WORK/$name.out" "$msg"
	check "$name: quick exit" test $((t1 - t0)) -lt 3000
	sipp_wait
	check "$name: SIPp scenario passed" test "$src" = 0
	local n
	n=$(grep -c '^REGISTER sip:' "$WORK/$scen.msg" || true)
	check "$name: exactly one REGISTER sent ($n)" test "$n" = 1
	check "$name: no credentials sent" bash -c "! grep -qiE '^ *(proxy-)?authorization:' '$WORK/$scen.msg'"
}
refused min_alg md5_only "challenge algorithm too weak" 'weaker than SHA-256 \(--min-algorithm\)' \
	--min-algorithm SHA-256
refused realm realm_other "challenge realm not allowed" 'realm is not "example.com" \(--realm\)' \
	--realm example.com

# ---- requests to the client: the registrar's OPTIONS is answered, a stranger's is not ----
sipp_start options
CPORT=$(free_port)
reg_bg options --expires 60 --local "$IP:$CPORT"
if wait_line "$WORK/options.out" 'registered 200' 10; then ok "options: registered"; else not_ok "options: not registered"; show "$WORK/options.out"; fi
stranger() { # IP PORT: OPTIONS from another port of the registrar's host; 0 when unanswered
	python3 - "$1" "$2" <<'EOF'
import socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 0))
s.settimeout(0.5)
lp = s.getsockname()[1]
msg = ("OPTIONS sip:alice@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKstranger\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:probe@example.org>;tag=s1\r\n"
       "To: <sip:alice@example.com>\r\nCall-ID: stranger1\r\nCSeq: 1 OPTIONS\r\n"
       "Content-Length: 0\r\n\r\n") % (ip, port, ip, lp)
for _ in range(3):
    s.sendto(msg.encode(), (ip, port))
try:
    s.recvfrom(65536)
    sys.exit(1)
except socket.timeout:
    sys.exit(0)
EOF
}
check "options: a stranger's OPTIONS gets no answer" stranger "$IP" "$CPORT"
for i in $(seq 30); do [ "$(grep -c '^CSeq: 1 OPTIONS' "$WORK/options.msg" 2>/dev/null)" -ge 2 ] && break; sleep 0.1; done
reg_stop
check "options: SIGTERM exits 0" test "$r" = 0
sipp_wait
check "options: SIPp's OPTIONS answered 200, then the unregistration" test "$src" = 0 || show "$WORK/options.out"

# ---- stale nonce ----
sipp_start stale
reg_once stale --expires 60
check "stale: exit 0" test "$rc" = 0
check "stale: no error reported" bash -c "! grep -q ' error ' '$WORK/stale.out'"
sipp_wait
check "stale: SIPp saw the new nonce with nc=1" test "$src" = 0

# ---- 423 ----
sipp_start 423
reg_once 423 --expires 60
check "423: exit 0" test "$rc" = 0
check "423: registered for Min-Expires" has "$WORK/423.out" 'registered 200 "OK" expires=1800'
sipp_wait
check "423: SIPp saw Expires 60 then 1800" test "$src" = 0

# ---- 503 with Retry-After ----
sipp_start 503
reg_bg 503 --expires 60
if wait_line "$WORK/503.out" 'registered 200' 20; then ok "503: registered after the retry"; else not_ok "503: not registered"; show "$WORK/503.out"; fi
check "503: error reported with the retry time" has "$WORK/503.out" 'error 503 "Service Unavailable" retry-in=2\.[0-2]s'
if has "$WORK/503.out" 'error 503' && has "$WORK/503.out" 'registered 200'; then
	d=$(($(stamp_ms "$WORK/503.out" 'registered 200') - $(stamp_ms "$WORK/503.out" 'error 503')))
	check "503: Retry-After honoured (waited ${d} ms >= 2000)" test "$d" -ge 2000 -a "$d" -lt 3500
fi
reg_stop
check "503: SIGTERM exits 0" test "$r" = 0
check "503: SIGTERM unregistered" has "$WORK/503.out" 'unregistered 200'
sipp_wait
check "503: SIPp scenario passed" test "$src" = 0

# ---- lost responses: Timer E retransmissions, Timer F, retry ----
sipp_start lost
reg_bg lost --expires 60 --t1 50 --retry-min 1 --retry-max 2
if wait_line "$WORK/lost.out" 'registered 200' 20; then ok "lost: registered after the timeout"; else not_ok "lost: not registered"; show "$WORK/lost.out"; fi
check "lost: the timeout was reported" has "$WORK/lost.out" 'error 408 "no response" retry-in=[01]\.[0-9]s'
if has "$WORK/lost.out" 'error 408'; then
	d=$(($(stamp_ms "$WORK/lost.out" 'error 408') - $(stamp_ms "$WORK/lost.out" 'registering')))
	check "lost: Timer F = 64*T1 (${d} ms)" test "$d" -ge 3100 -a "$d" -lt 4500
fi
reg_stop
check "lost: SIGTERM exits 0" test "$r" = 0
sipp_wait
check "lost: SIPp scenario passed" test "$src" = 0
first_cseq=$(grep -m1 -E '^CSeq: ' "$WORK/lost.msg" | tr -d '\r')
n=$(grep -c -x -- "$first_cseq"$'\r\\?' "$WORK/lost.msg" || true)
check "lost: the first REGISTER was retransmitted (sent $n times)" test "$n" -ge 6

# ---- a changed granted expiry ----
sipp_start expiry
reg_bg expiry --expires 2
if wait_line "$WORK/expiry.out" 'expires=4 .*registered 200|registered 200 "OK" expires=4' 15 &&
	[ "$(grep -c 'expires=4' "$WORK/expiry.out")" -ge 1 ]; then ok "expiry: the new expiry is followed"; else not_ok "expiry: no expires=4"; show "$WORK/expiry.out"; fi
check "expiry: first grant 2 s, refreshed after 1 s" has "$WORK/expiry.out" 'expires=2 refresh-in=1\.0s'
check "expiry: then 4 s, refreshed after 2 s" has "$WORK/expiry.out" 'expires=4 refresh-in=2\.0s'
wait_line "$WORK/expiry.out" 'expires=4.*' 10 || true
sleep 2.5 # the third REGISTER (second refresh) is answered too
reg_stop
check "expiry: SIGTERM exits 0" test "$r" = 0
n=$(grep -c 'registered 200' "$WORK/expiry.out" || true)
check "expiry: three registrations before the end ($n)" test "$n" -ge 3
sipp_wait
check "expiry: SIPp scenario passed" test "$src" = 0

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
