#!/usr/bin/env bash
# sipreg register against a registrar name with two addresses, the first dead: the client must
# time out on it (Timer F = 64*T1) and register through the second. The name is given two
# addresses in a private /etc/hosts, bind-mounted in the client's own mount namespace, so the
# machine's resolver configuration is never touched.
set -euo pipefail
bin=${1:?usage: run_client_failover.sh /path/to/sipreg}
. "$(dirname "$0")/lib/serve_common.sh"
need unshare python3
free_port port
# getaddrinfo sorts 127.0.0.1 before 127.0.0.9: the registrar listens on the second only
printf '127.0.0.1 localhost\n127.0.0.9 registrar.test\n127.0.0.1 registrar.test\n' >"$work/hosts"
printf 'pw-alice\n' >"$work/pw"
"$bin" user add alice --domain example.com --password-stdin --db "$work/r.db" <"$work/pw" >/dev/null
check "server on the second address" start_server "$work/serve.log" --listen "127.0.0.9:$port" \
  --domain example.com --domain registrar.test --db "$work/r.db"
check "the name resolves to both addresses, dead one first" \
  unshare -m bash -c "mount --bind '$work/hosts' /etc/hosts && python3 -c \"
import socket, sys
a = [x[4][0] for x in socket.getaddrinfo('registrar.test', $port, type=socket.SOCK_DGRAM)]
sys.exit(0 if a == ['127.0.0.1', '127.0.0.9'] else 1)\""
start=$(date +%s%N)
rc=0
unshare -m bash -c "mount --bind '$work/hosts' /etc/hosts && exec timeout 60 '$bin' register \
  sip:alice@example.com --registrar sip:registrar.test:$port --password-file '$work/pw' \
  --t1 100 --once" >"$work/reg.log" 2>&1 || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "registered through the second address (exit 0)" test "$rc" = 0
check "the client reported registered 200" grep -q 'registered 200 "OK"' "$work/reg.log"
check "the first address was given up only after Timer F (6.4 s), took ${ms} ms" \
  test "$ms" -ge 6300 -a "$ms" -lt 30000
check "the registrar saw the registration" \
  grep -q "registered aor=sip:alice@example.com" "$work/serve.log"
check "and the unregistration of --once" \
  grep -q "unregistered status=200 .*aor=sip:alice@example.com" "$work/serve.log"
stop_server
check "server stopped cleanly" test "$srv_rc" = 0
finish
