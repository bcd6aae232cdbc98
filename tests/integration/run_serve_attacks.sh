#!/usr/bin/env bash
# sipreg serve with default flags under the attacks of docs/security.md, each played for real
# over loopback. A "spoofed" packet is one sent from a socket bound to the victim's address
# (127.0.0.0/8 gives every test its own addresses): to the server it is indistinguishable from a
# forged source, and the victim's socket sees what the server sends back.
#  1. forged nonces in the name of an address never lock out the real client behind it;
#  2. a subscriber's authenticated queries sent in a victim's name draw at most 3x their bytes;
#  3. a REGISTER captured before a crash cannot be replayed after the restart;
#  4. a registered client keeps refreshing, through a stale nonce too, while a spoofed flood
#     spends its address's budget;
#  5. 4000 unauthenticated 56 KB requests grow the server by less than 64 MB;
#  6. the database holding every HA1 is 0600.
set -euo pipefail
bin=${1:?usage: run_serve_attacks.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need python3 ss sqlite3
export PYTHONPATH=$here/lib

db=$work/reg.db
for u in alice mallory; do
  printf 'pw-%s\n' "$u" | "$bin" user add "$u" --domain example.com --password-stdin --db "$db" \
    >/dev/null
done
free_port port
# (ASan keeps freed blocks in a quarantine: keep it small, so that RSS shows what the server
# holds, not what the sanitizer does)
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=8"
# (the shortest nonce lifetime, so that attack 4 sees a nonce go stale)
check "server started with default flags" start_server "$work/serve.log" \
  --listen "127.0.0.1:$port" --domain example.com --db "$db" --nonce-lifetime 10

check "1. forged nonces in an address's name never lock out its real client" \
  python3 - "$port" <<'PY'
import os, sys
import sipudp
srv = ("127.0.0.1", int(sys.argv[1]))
spoof = sipudp.Client(srv, "127.0.0.5")
r = spoof.request(sipudp.register("x", "example.com", spoof.local, spoof.new_branch(), "s0", 1))
ch = r.challenges()["MD5"]
for i in range(40):  # twice the source limit, each with a made-up nonce and a random user
    fake = dict(ch, nonce=os.urandom(36).hex()[:48])
    user = "u%d-%s" % (i, os.urandom(3).hex())
    auth = sipudp.authorization(fake, "MD5", user, "guess", "REGISTER", "sip:example.com")
    r = spoof.request(sipudp.register(user, "example.com", spoof.local, spoof.new_branch(),
                                      "s%d" % i, 2, auth=auth))
    assert r is not None and r.status == 401, r and r.start
# a genuine nonce drawn elsewhere, answered with alice's name from her address, 15 times
other = sipudp.Client(srv, "127.0.0.6")
r = other.request(sipudp.register("alice", "example.com", other.local, other.new_branch(), "o", 1))
auth = sipudp.authorization(r.challenges()["MD5"], "MD5", "alice", "guess", "REGISTER",
                            "sip:example.com")
for i in range(15):
    r = spoof.request(sipudp.register("alice", "example.com", spoof.local, spoof.new_branch(),
                                      "g%d" % i, 2, auth=auth))
    assert r is not None and r.status == 401, r and r.start
real = sipudp.Client(srv, "127.0.0.5")
first, final = real.register_auth("alice", "pw-alice", "example.com", "real-1")
assert final is not None and final.status == 200, final and final.start
PY

check "2. authenticated queries in a victim's name draw at most 3x their bytes" \
  python3 - "$port" <<'PY'
import socket, sys
import sipudp
srv = ("127.0.0.1", int(sys.argv[1]))
m = sipudp.Client(srv, "127.0.0.7")
for i in range(32):  # 32 large bindings
    c = "<sip:m%02d-%s@127.0.0.7:%d>" % (i, "x" * 200, 6000 + i)
    _, final = m.register_auth("mallory", "pw-mallory", "example.com", "big-%d" % i, contact=c)
    assert final is not None and final.status == 200, final and final.start
r = m.request(sipudp.register("mallory", "example.com", m.local, m.new_branch(), "q", 1,
                              contact=None))
ch = r.challenges()["MD5"]
victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
victim.bind(("127.0.0.8", 0))
vlocal = victim.getsockname()
sent = 0
for i in range(200):
    auth = sipudp.authorization(ch, "MD5", "mallory", "pw-mallory", "REGISTER",
                                "sip:example.com", nc=i + 1)
    q = sipudp.register("mallory", "example.com", vlocal, "z9hG4bKamp%d" % i, "amp", 10 + i,
                        contact=None, auth=auth)
    sent += len(q)
    victim.sendto(q, srv)  # from the victim's address, as a forged packet would be
got, n = 0, 0
victim.settimeout(1.0)
try:
    while True:
        data = victim.recv(65535)
        got += len(data)
        n += 1
        assert not data.startswith(b"SIP/2.0 200"), data[:200]
except socket.timeout:
    pass
print("     victim: %d replies, %d bytes for %d bytes sent (x%.2f)" % (n, got, sent, got / sent))
assert got <= 3 * sent, (got, sent)
# from mallory's own address the same query lists all 32 bindings
auth = sipudp.authorization(ch, "MD5", "mallory", "pw-mallory", "REGISTER", "sip:example.com",
                            nc=1000)
r = m.request(sipudp.register("mallory", "example.com", m.local, m.new_branch(), "own", 1,
                              contact=None, auth=auth))
assert r.status == 200 and len(r.all("Contact")) == 32, (r.start, len(r.all("Contact")))
PY

check "3a. capture a REGISTER, then its owner unregisters" python3 - "$port" "$work" <<'PY'
import json, sys
import sipudp
srv = ("127.0.0.1", int(sys.argv[1]))
c = sipudp.Client(srv, "127.0.0.9")
r = c.request(sipudp.register("alice", "example.com", c.local, c.new_branch(), "cap", 1))
ch = r.challenges()["MD5"]
auth = sipudp.authorization(ch, "MD5", "alice", "pw-alice", "REGISTER", "sip:example.com")
cap = sipudp.register("alice", "example.com", c.local, c.new_branch(), "cap", 2,
                      contact="<sip:captured@127.0.0.9:7000>", auth=auth)
assert c.request(cap).status == 200
auth = sipudp.authorization(ch, "MD5", "alice", "pw-alice", "REGISTER", "sip:example.com", nc=2)
r = c.request(sipudp.register("alice", "example.com", c.local, c.new_branch(), "cap", 3,
                              contact="<sip:captured@127.0.0.9:7000>;expires=0", auth=auth))
assert r.status == 200 and "captured" not in " ".join(r.all("Contact")), r.start
open(sys.argv[2] + "/captured", "wb").write(cap)
json.dump(c.local, open(sys.argv[2] + "/captured.addr", "w"))
PY
kill -KILL "$srv_pid"
wait "$srv_pid" 2>/dev/null || true
srv_pid=
check "3b. the server restarts after kill -9" start_server "$work/serve2.log" \
  --listen "127.0.0.1:$port" --domain example.com --db "$db" --nonce-lifetime 10
check "3c. the captured REGISTER replayed after the restart is refused" \
  python3 - "$port" "$work" <<'PY'
import json, socket, sys
import sipudp
srv = ("127.0.0.1", int(sys.argv[1]))
cap = open(sys.argv[2] + "/captured", "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(tuple(json.load(open(sys.argv[2] + "/captured.addr"))))
s.settimeout(3)
s.sendto(cap, srv)
r = sipudp.Response(s.recv(65535))
assert r.status == 401 and r.challenges()["MD5"].get("stale") == "true", r.start
PY
check "3d. the binding its owner removed is not back" \
  bash -c '! "$1" bindings --db "$2" | grep -q captured' _ "$bin" "$db"

check "4. a registered client keeps refreshing through a spoofed flood in its name" \
  python3 - "$port" <<'PY'
import socket, sys, time
import sipudp
srv = ("127.0.0.1", int(sys.argv[1]))
phone = sipudp.Client(srv, "127.0.0.10")
r = phone.request(sipudp.register("alice", "example.com", phone.local, phone.new_branch(), "ph", 1))
ch = r.challenges()["MD5"]
auth = sipudp.authorization(ch, "MD5", "alice", "pw-alice", "REGISTER", "sip:example.com")
r = phone.request(sipudp.register("alice", "example.com", phone.local, phone.new_branch(), "ph", 2,
                                  auth=auth))
assert r.status == 200
flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flood.bind(("127.0.0.10", 0))
fl = flood.getsockname()
ok, stale, nc, cseq = 0, 0, 1, 3
t0 = time.monotonic()
# 400 unauthenticated requests a second in alice's name for 12 s, past the nonce lifetime
# (10 s here): a refresh a second, reusing the nonce (nc + 1) as the client does
for i in range(12):
    for k in range(10):
        for j in range(40):
            flood.sendto(sipudp.register("alice", "example.com", fl,
                                         "z9hG4bKfl%d-%d-%d" % (i, k, j), "fl%d" % i, 1), srv)
        time.sleep(max(0, t0 + i + (k + 1) * 0.1 - time.monotonic()))
    nc += 1
    auth = sipudp.authorization(ch, "MD5", "alice", "pw-alice", "REGISTER", "sip:example.com",
                                nc=nc)
    r = phone.request(sipudp.register("alice", "example.com", phone.local, phone.new_branch(),
                                      "ph", cseq, auth=auth), timeout=2.0)
    cseq += 1
    if r is not None and r.status == 401 and r.challenges()["MD5"].get("stale") == "true":
        stale += 1  # the stale challenge reached it (its request proved its address)
        ch, nc = r.challenges()["MD5"], 1
        auth = sipudp.authorization(ch, "MD5", "alice", "pw-alice", "REGISTER",
                                    "sip:example.com", nc=nc)
        r = phone.request(sipudp.register("alice", "example.com", phone.local,
                                          phone.new_branch(), "ph", cseq, auth=auth), timeout=2.0)
        cseq += 1
    ok += r is not None and r.status == 200
print("     %d of 12 refreshes answered 200 during the flood (%d through a stale nonce)"
      % (ok, stale))
assert ok == 12 and stale >= 1, (ok, stale)
PY

rss() { awk '/^VmRSS/ {print $2}' "/proc/$srv_pid/status"; }
before=$(rss)
check "5a. 4000 unauthenticated 56 KB requests from 4000 sources" python3 - "$port" <<'PY'
import socket, sys
srv = ("127.0.0.1", int(sys.argv[1]))
for i in range(4000):
    ip = "127.1.%d.%d" % (i // 250, 1 + i % 250)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    me = s.getsockname()
    # well-formed: 7 Via lines of 30 elements each (the parser's list and line limits), all of
    # which a response must copy
    vias = "".join("Via: " + ", ".join("SIP/2.0/UDP 192.0.2.%d:5060;branch=z9hG4bKv%d-%d-%d;x=%s"
                                       % (k, i, l, k, "v" * 190) for k in range(30)) + "\r\n"
                   for l in range(7))
    msg = ("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;rport;branch=z9hG4bKm%d\r\n"
           "%sFrom: <sip:u%d@example.com>;tag=1\r\nTo: <sip:u%d@example.com>\r\n"
           "Call-ID: m%d\r\nCSeq: 1 REGISTER\r\nContact: <sip:u@%s:%d>\r\n"
           % (me[0], me[1], i, vias, i, i, i, me[0], me[1]))
    pad = 56000 - len(msg) - len("X-Pad: \r\nContent-Length: 0\r\n\r\n")
    msg += "X-Pad: %s\r\nContent-Length: 0\r\n\r\n" % ("p" * pad)
    s.sendto(msg.encode(), srv)
    s.close()
PY
sleep 1
after=$(rss)
echo "     RSS before ${before} kB, after ${after} kB"
check "5b. the server grew by less than 64 MB" test $((after - before)) -lt 65536
check "5c. and still answers" python3 - "$port" <<'PY'
import sys
import sipudp
c = sipudp.Client(("127.0.0.1", int(sys.argv[1])), "127.0.0.11")
_, final = c.register_auth("alice", "pw-alice", "example.com", "after-flood")
assert final is not None and final.status == 200, final and final.start
PY

check "6. the database and its WAL files are 0600" bash -c '
  for f in "$1" "$1-wal" "$1-shm"; do
    [ ! -e "$f" ] || [ "$(stat -c %a "$f")" = 600 ] || { echo "$f: $(stat -c %a "$f")"; exit 1; }
  done' _ "$db"

stop_server
check "SIGTERM stops cleanly" test "$srv_rc" = 0
check "no sanitizer report" sanitizer_clean "$work/serve.log"
check "no sanitizer report after the restart" sanitizer_clean "$work/serve2.log"
finish
