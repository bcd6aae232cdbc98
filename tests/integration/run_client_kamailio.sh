#!/usr/bin/env bash
# `sipreg register` against Kamailio (Debian package kamailio) configured here as a digest
# registrar (SHA-256 challenges, qop=auth, in-memory location): --once, a wrong password, and
# long runs over UDP (OPTIONS keep-alives) and TCP that keep the binding through a Kamailio
# restart (which forgets every binding) and remove it on SIGTERM. Bindings are read back with
# kamcmd. Kamailio is required: the test fails, never skips, when it is missing.
# Usage: run_client_kamailio.sh PATH-TO-SIPREG.
set -euo pipefail

SIPREG=${1:?usage: run_client_kamailio.sh PATH-TO-SIPREG}
case "$SIPREG" in /*) ;; *) SIPREG="$PWD/$SIPREG" ;; esac
[ -x "$SIPREG" ] || { echo "run_client_kamailio: $SIPREG is not executable" >&2; exit 1; }
for tool in kamailio kamcmd python3 timeout; do
	command -v "$tool" >/dev/null || {
		echo "run_client_kamailio: $tool is missing (Debian package kamailio)" >&2
		exit 1
	}
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipreg_client_kam.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
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
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
has() { grep -qE -- "$2" "$1"; }
show() { echo "    --- $1"; sed 's/^/    /' "$1" 2>/dev/null | tail -25; }
count() { grep -cE -- "$2" "$1" || true; }
wait_line() { # FILE REGEX SECONDS
	local i
	for i in $(seq $(($3 * 10))); do
		has "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

PORT=$(python3 - <<'EOF'
import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
EOF
)
CTL="unix:$WORK/ctl.sock"
cat >"$WORK/kamailio.cfg" <<EOF
#!KAMAILIO
debug=1
log_stderror=yes
auto_aliases=no
dns=no
rev_dns=no
children=1
tcp_children=1
listen=udp:127.0.0.1:$PORT
listen=tcp:127.0.0.1:$PORT
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "ctl.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("ctl", "binrpc", "$CTL")
modparam("auth", "secret", "sipreg-client-test-secret")
modparam("auth", "algorithm", "SHA-256")
modparam("registrar", "min_expires", 1)
request_route {
	if (is_method("ACK")) { exit; }
	if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
	if (!is_method("REGISTER")) { sl_send_reply("405", "Method Not Allowed"); exit; }
	if (\$au == "alice") { \$var(pw) = "secret"; } else { \$var(pw) = "-no-such-user-"; }
	if (!pv_www_authenticate("example.com", "\$var(pw)", "0")) {
		if (\$rc == -2) { sl_send_reply("403", "Forbidden"); exit; }
		www_challenge("example.com", "1");
		exit;
	}
	if (!save("location")) { sl_reply_error(); }
	exit;
}
EOF
kam_start() {
	kamailio -f "$WORK/kamailio.cfg" -DD -E -Y "$WORK" -P "$WORK/kamailio.pid" >>"$WORK/kamailio.log" 2>&1 &
	KAM=$!
	PIDS+=("$KAM")
	local i
	for i in $(seq 50); do
		kamcmd -s "$CTL" core.uptime >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "run_client_kamailio: kamailio did not start" >&2
	show "$WORK/kamailio.log"
	exit 1
}
kam_stop() {
	kill -TERM "$KAM" 2>/dev/null || true
	wait "$KAM" 2>/dev/null || true
}
lookup() { kamcmd -s "$CTL" ul.lookup location alice >"$WORK/lookup" 2>&1 || true; }
bound() { # REGEX of the contact: 0 when Kamailio holds such a binding for alice
	lookup
	grep -qE -- "Address: $1" "$WORK/lookup"
}
wait_bound() { # REGEX SECONDS
	local i
	for i in $(seq $(($2 * 10))); do
		bound "$1" && return 0
		sleep 0.1
	done
	return 1
}

kam_start

# ---- --once ----
set +e
printf 'secret\n' | timeout 30 "$SIPREG" register sip:alice@example.com \
	--registrar "sip:127.0.0.1:$PORT" --password-stdin --once --expires 60 >"$WORK/once.out" 2>&1
rc=$?
set -e
check "once: exit 0" test "$rc" = 0 || show "$WORK/once.out"
check "once: registered with Kamailio's SHA-256 challenge" has "$WORK/once.out" 'registered 200 "OK" expires=60'
check "once: unregistered" has "$WORK/once.out" 'unregistered 200'
check "once: no binding left" bash -c "! grep -q 'Address:' '$WORK/lookup' 2>/dev/null; $(declare -f lookup); CTL='$CTL' WORK='$WORK' lookup; ! grep -q 'Address:' '$WORK/lookup'"

# ---- wrong password ----
set +e
printf 'wrong\n' | timeout 30 "$SIPREG" register sip:alice@example.com \
	--registrar "sip:127.0.0.1:$PORT" --password-stdin --once >"$WORK/wrong.out" 2>&1
rc=$?
set -e
check "wrong password: exit 3" test "$rc" = 3 || show "$WORK/wrong.out"
check "wrong password: authentication failed" has "$WORK/wrong.out" 'error 403 "authentication failed"'

# ---- long runs through a restart ----
run_case() { # NAME TRANSPORT CONTACT-REGEX EXTRA-FLAGS...
	local name=$1 tr=$2 re=$3
	shift 3
	printf 'secret\n' >"$WORK/pw"
	timeout 120 "$SIPREG" register sip:alice@example.com --registrar "sip:127.0.0.1:$PORT" \
		--password-file "$WORK/pw" --transport "$tr" --expires 4 --t1 50 --retry-min 1 \
		--retry-max 2 "$@" >"$WORK/$name.out" 2>&1 &
	local reg=$!
	PIDS+=("$reg")
	if wait_bound "$re" 10; then ok "$name: bound in Kamailio"; else not_ok "$name: not bound"; show "$WORK/$name.out"; show "$WORK/lookup"; fi
	kam_stop
	sleep 1
	kam_start
	lookup
	check "$name: the restarted Kamailio forgot the binding" bash -c "! grep -q 'Address:' '$WORK/lookup'"
	if wait_bound "$re" 10; then ok "$name: bound again after the restart"; else not_ok "$name: not bound after the restart"; show "$WORK/$name.out"; fi
	kill -TERM "$reg"
	local r=0
	wait "$reg" || r=$?
	check "$name: SIGTERM exits 0" test "$r" = 0 || show "$WORK/$name.out"
	check "$name: SIGTERM unregistered" has "$WORK/$name.out" 'unregistered 200'
	lookup
	check "$name: no binding after SIGTERM" bash -c "! grep -q 'Address:' '$WORK/lookup'" || show "$WORK/lookup"
}
run_case udp udp 'sip:alice@127\.0\.0\.1:[0-9]+$' --keepalive 1 --keepalive-kind options
run_case tcp tcp 'sip:alice@127\.0\.0\.1:[0-9]+;transport=tcp' --keepalive 1
n=$(count "$WORK/tcp.out" 'connection lost|registered 200')
check "tcp: the lost connection was followed by a new registration ($n lines)" test "$n" -ge 3

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
