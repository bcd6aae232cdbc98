#!/usr/bin/env bash
# sipreg serve against SIPp (Debian's sip-tester) as the client: the full challenge flow, 423,
# wildcard unregister, query, retransmission, CSeq ordering, stale nonce, wrong password,
# unknown user, third-party AOR, foreign domains, OPTIONS/INVITE/Require. Each scenario
# (sipp/srv_*.xml) asserts its response codes and headers itself; SIPp exits 0 only when its
# call succeeded. Then the 401s of a wrong password and of an unknown user are compared (SIPp's
# traces and a Python client), and the store and the log are checked.
#
# SIPp 3.6 computes only MD5 digests and answers the first challenge of a 401: the server's
# default offer (MD5 alone) is what it needs, so no algorithm flag is given.
set -euo pipefail
bin=${1:?usage: run_serve_sipp.sh /path/to/sipreg}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/serve_common.sh"
need sipp python3 ss
export PYTHONPATH=$here/lib

db=$work/reg.db
# one user per scenario, so that one failing scenario does not disturb the others
cat >"$work/users.csv" <<'EOF'
reg01,pw-reg01-secret
exp01,pw-exp01-secret
wild01,pw-wild01-secret
qry01,pw-qry01-secret
rtx01,pw-rtx01-secret
seq01,pw-seq01-secret
stale01,pw-stale01-secret
carol,pw-carol-secret
eve01,pw-eve01-secret
victim01,pw-victim01-secret
dave1,pw-dave1-secret
EOF
"$bin" user import "$work/users.csv" --domain example.com --db "$db" >/dev/null
inf() { # inf NAME USER PASSWORD [FIELD2]: an injection file for one call
  printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]%s\n' "$2" "$2" "$3" \
    "${4:+;$4}" >"$work/$1.csv"
}

free_port port
start_server "$work/serve.log" --listen "127.0.0.1:$port" --domain example.com --db "$db" \
  --min-expires 60 --nonce-lifetime 10 --log-level debug
ok "server started on 127.0.0.1:$port"

# run_sipp NAME SCENARIO INF: one SIPp call of sipp/SCENARIO.xml, messages traced to NAME.msg
run_sipp() {
  local name=$1 scen=$2 inf=$3 lport rc=0
  free_port lport
  (cd "$work" && timeout 60 sipp "127.0.0.1:$port" -sf "$here/sipp/$scen.xml" \
    -inf "$work/$inf.csv" -i 127.0.0.1 -p "$lport" -m 1 -recv_timeout 5000 -timeout 50 \
    -trace_err -error_file "$name.err" -trace_msg -message_file "$name.msg" \
    </dev/null >"$name.out" 2>&1) || rc=$?
  if [ "$rc" = 0 ]; then
    ok "sipp $name"
  else
    bad "sipp $name: sipp exit $rc" "$(grep -v 'Failed to delete FD' "$work/$name.err" 2>/dev/null |
      head -c 1500)"
  fi
}

# the stale-nonce scenario waits 11 s for its nonce to expire: run it beside the others
inf stale stale01 pw-stale01-secret
free_port stale_lport
(cd "$work" && timeout 60 sipp "127.0.0.1:$port" -sf "$here/sipp/srv_stale.xml" \
  -inf "$work/stale.csv" -i 127.0.0.1 -p "$stale_lport" -m 1 -recv_timeout 5000 -timeout 50 \
  -trace_err -error_file stale.err -trace_msg -message_file stale.msg \
  </dev/null >stale.out 2>&1) &
stale_pid=$!
helper_pids+=("$stale_pid")

inf reg reg01 pw-reg01-secret
run_sipp challenge-flow srv_reg reg
inf exp exp01 pw-exp01-secret
run_sipp interval-too-brief srv_423 exp
inf wild wild01 pw-wild01-secret
run_sipp wildcard srv_wildcard wild
inf qry qry01 pw-qry01-secret
run_sipp query srv_query qry
inf rtx rtx01 pw-rtx01-secret
run_sipp retransmission srv_retrans rtx
inf seq seq01 pw-seq01-secret
run_sipp cseq-order srv_cseq seq
inf wrongpw carol not-carols-password
run_sipp wrong-password srv_badauth wrongpw
inf unknown zelda pw-zelda-secret
run_sipp unknown-user srv_badauth unknown
inf third eve01 pw-eve01-secret victim01
run_sipp third-party-aor srv_thirdparty third
inf plain dave1 pw-dave1-secret
run_sipp foreign-domain srv_foreign plain
run_sipp options-invite-require srv_methods plain

rc=0
wait "$stale_pid" || rc=$?
if [ "$rc" = 0 ]; then
  ok "sipp stale-nonce"
else
  bad "sipp stale-nonce: sipp exit $rc" "$(grep -v 'Failed to delete FD' "$work/stale.err" |
    head -c 1500)"
fi

# ---- the traces ----
# received messages of a SIPp trace, one JSON string each
cat >"$work/trace.py" <<'PY'
import json, re, sys
data = open(sys.argv[1], "rb").read()
out = []
for m in re.finditer(rb"UDP message received \[(\d+)\] bytes :\n\n", data):
    out.append(data[m.end():m.end() + int(m.group(1))].decode("utf-8", "replace"))
json.dump(out, sys.stdout)
PY
# a 401 is never cached (a spoofed flood must pin no memory): the retransmission is answered
# again, with a fresh nonce
check "retransmitted unauthenticated REGISTER drew a new 401, not a cached one" python3 - "$work" <<'PY'
import json, re, subprocess, sys
w = sys.argv[1]
msgs = json.loads(subprocess.check_output(["python3", w + "/trace.py", w + "/retransmission.msg"]))
r401 = [m for m in msgs if m.startswith("SIP/2.0 401") and "branch=z9hG4bK-rtA-" in m]
assert len(r401) == 2, len(r401)
nonces = [re.search(r'nonce="([^"]+)"', m).group(1) for m in r401]
assert nonces[0] != nonces[1], nonces
PY
check "wrong password and unknown user: same 401 header names (SIPp traces)" \
  python3 - "$work" <<'PY'
import json, subprocess, sys
w = sys.argv[1]
def last401(name):
    msgs = json.loads(subprocess.check_output(["python3", w + "/trace.py", w + "/" + name + ".msg"]))
    r = [m for m in msgs if m.startswith("SIP/2.0 401")]
    assert len(r) == 3, (name, len(r))
    return [l.split(":", 1)[0] for l in r[-1].split("\r\n") if l]
a, b = last401("wrong-password"), last401("unknown-user")
assert a == b, (a, b)
PY

# the same comparison with our own client, byte for byte: a wrong password for an existing
# user and any password for a user that does not exist (names of the same length) get the
# same 401 but for the To-tag and the nonce (and what echoes the request); so does a REGISTER
# without credentials
check "wrong password, unknown user, no credentials: identical 401s but for tag and nonce" \
  python3 - "$port" <<'PY'
import re, sys
import sipudp
port = int(sys.argv[1])
c = sipudp.Client(("127.0.0.1", port))
def attempt(user, password, call_id):
    first, final = c.register_auth(user, password, "example.com", call_id)
    assert first is not None and first.status == 401, first and first.start
    assert final is not None and final.status == 401, final and final.start
    return first, final
def mask(r, user):
    t = r.raw.decode()
    t = re.sub(r"branch=[^;]+", "branch=B", t)
    t = re.sub(r"Call-ID: .*", "Call-ID: C", t)
    t = re.sub(r"CSeq: [0-9]+", "CSeq: N", t)
    t = re.sub(r"To: (.*);tag=[0-9a-f]+", r"To: \1;tag=T", t)
    t = re.sub(r'nonce="[^"]+"', 'nonce="N"', t)
    return t.replace(user, "U")
f1, known = attempt("carol", "wrong-one", "enum-call-000001")
f2, unknown = attempt("zelda", "wrong-one", "enum-call-000002")
assert len(known.raw) == len(unknown.raw), (len(known.raw), len(unknown.raw))
assert known.names() == unknown.names(), (known.names(), unknown.names())
assert mask(known, "carol") == mask(unknown, "zelda"), (known.raw, unknown.raw)
assert mask(f1, "carol") == mask(known, "carol"), (f1.raw, known.raw)
assert "stale" not in known.get("WWW-Authenticate")
PY

# ---- the store and the log ----
bindings=$("$bin" bindings --db "$db")
check "bindings: the challenge flow's binding is stored" \
  grep -qE "^sip:reg01@example.com[[:space:]]+sip:reg01@127.0.0.1:[0-9]+" <<<"$bindings"
check "bindings: the 423 retry's binding is stored" grep -q "^sip:exp01@example.com" <<<"$bindings"
check "bindings: the query's two bindings are stored" \
  test "$(grep -c "^sip:qry01@example.com" <<<"$bindings")" = 2
check "bindings: nothing left after the wildcard unregister" \
  bash -c '! grep -q "^sip:wild01@" <<<"$1"' _ "$bindings"
check "bindings: nothing for the wrong password, unknown user, victim of the third party" \
  bash -c '! grep -qE "^sip:(carol|zelda|victim01)@" <<<"$1"' _ "$bindings"
check "log: registration event" \
  grep -q "info registered aor=sip:reg01@example.com contact=sip:reg01@127.0.0.1:[0-9]* expires=600 user=reg01" "$work/serve.log"
check "log: failed authentication of the wrong password" \
  grep -q "auth-failed status=401 .*aor=sip:carol@example.com .*user=carol" "$work/serve.log"
check "log: failed authentication of the unknown user" \
  grep -q "auth-failed status=401 .*aor=sip:zelda@example.com .*user=zelda" "$work/serve.log"
check "log: third-party AOR rejected" \
  grep -q "rejected status=403 .*aor=sip:victim01@example.com .*user=eve01" "$work/serve.log"
check "log: stale nonce re-challenged" grep -q "challenged status=401 .*user=stale01" "$work/serve.log"

check "server still running after all scenarios" kill -0 "$srv_pid"
stop_server
check "SIGTERM stops the server with exit 0 (status $srv_rc)" test "$srv_rc" = 0
check "no sanitizer report in the server log" sanitizer_clean "$work/serve.log"
finish
