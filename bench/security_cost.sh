#!/usr/bin/env bash
# The cost of a change on the registration path: two sipreg binaries (A, the commit before, and
# B, the change) driven by the SIPp harness in ../shared/bench at one fixed rate, alternating
# A B A B, each with the durable SQLite store and a fresh database. Prints each run's summary
# line and the ratio B/A of the medians of server CPU per registration and of p99.
#
#   bench/security_cost.sh OLD_SIPREG NEW_SIPREG [RATE] [ROUNDS] [DURATION]
#
# PIN=SRV:GEN passes --pin to reg_bench.sh (e.g. 1:0: the server alone on CPU 1).
# Both run with --algorithms MD5 (SIPp answers only the first challenge, with MD5; older builds
# offered SHA-256 first) and --reply-rate 0 (all of SIPp's calls come from one address).
set -euo pipefail
old=$(realpath "${1:?usage: security_cost.sh OLD_SIPREG NEW_SIPREG [RATE] [ROUNDS] [DURATION]}")
new=$(realpath "${2:?usage: security_cost.sh OLD_SIPREG NEW_SIPREG [RATE] [ROUNDS] [DURATION]}")
rate=${3:-5000}
rounds=${4:-3}
duration=${5:-15}
shared=${SHARED:-$(cd "$(dirname "$0")/../../shared" && pwd)}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

target() {
  printf '%s user import {USERS_FILE} --db {WORKDIR}/reg.db --domain {REALM} >/dev/null && exec %s serve --listen 127.0.0.1:{PORT} --db {WORKDIR}/reg.db --domain {REALM} --algorithms MD5 --reply-rate 0 --log-level warn' "$1" "$1"
}

cd "$shared/bench"
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$old
    [ "$side" = B ] && bin=$new
    ./reg_bench.sh --target "$(target "$bin")" --label "$side" --rate "$rate" \
      --duration "$duration" --results "$results" ${PIN:+--pin "$PIN"} | grep -E "^label=" || true
  done
done

python3 - "$results" <<'PY'
import statistics, sys
runs = {"A": [], "B": []}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if kv.get("label") in runs:
        runs[kv["label"]].append(kv)
def med(side, key):
    v = [float(r[key]) for r in runs[side] if r.get(key) not in (None, "", "nan")]
    return statistics.median(v) if v else float("nan")
for key in ("srv_us_per_reg", "p99_ms", "peak_rss_mb"):
    a, b = med("A", key), med("B", key)
    print("%-15s A %8.2f  B %8.2f  B/A %.3f" % (key, a, b, b / a if a else float("nan")))
print("verdicts A: %s  B: %s" % ([r.get("verdict") for r in runs["A"]],
                                  [r.get("verdict") for r in runs["B"]]))
PY
