#!/usr/bin/env bash
# Several registrars driven in one run by the SIPp harness of ../shared/bench at one fixed rate,
# in rounds (each round runs every target once, in the order given), so that a noisy shared
# machine treats them alike. Prints every run's summary line, then per target the medians of
# server CPU per registration, p99 and peak RSS, and the CPU ratio to the first target.
#
#   bench/side_by_side.sh [-r RATE] [-n ROUNDS] [-d DURATION] LABEL=TARGET ...
#
# TARGET is one of
#   floor              the harness's canned responder (built from ../shared/bench/floor)
#   kamailio[:MODE]    the harness's Kamailio (mem, sqlite-wt, sqlite-wb)
#   sipreg:BIN[:ARGS]  BIN serve on a fresh database of the harness's users, durable SQLite,
#                      with extra serve ARGS (e.g. "--location memory" or "--workers 2")
# e.g. bench/side_by_side.sh -r 5000 -n 2 floor=floor kam=kamailio \
#        old=sipreg:/tmp/old/sipreg new=sipreg:build/sipreg "newmem=sipreg:build/sipreg:--location memory"
# PIN=SRV:GEN passes --pin to reg_bench.sh.
set -euo pipefail
rate=5000 rounds=2 duration=12
while getopts "r:n:d:" o; do
  case $o in
    r) rate=$OPTARG ;;
    n) rounds=$OPTARG ;;
    d) duration=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,16p' "$0"; exit 2; }
shared=${SHARED:-$(cd "$(dirname "$0")/../../shared" && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

labels=() targets=()
for spec in "$@"; do
  label=${spec%%=*} t=${spec#*=}
  case $t in
    floor)
      gcc -O2 -o "$work/floor" "$shared/bench/floor/floor.c" -lcrypto
      t="$work/floor {PORT}" ;;
    kamailio*) ;;
    sipreg:*)
      rest=${t#sipreg:} bin=$(realpath "${rest%%:*}") args=""
      [ "$rest" != "${rest#*:}" ] && args=${rest#*:}
      t="$bin user import {USERS_FILE} --db {WORKDIR}/reg.db --domain {REALM} >/dev/null && exec $bin serve --listen 127.0.0.1:{PORT} --db {WORKDIR}/reg.db --domain {REALM} --algorithms MD5 --trusted-source 127.0.0.1 --log-level warn $args" ;;
    *) echo "unknown target: $t" >&2; exit 2 ;;
  esac
  labels+=("$label") targets+=("$t")
done

results=$work/results
cd "$shared/bench"
for r in $(seq 1 "$rounds"); do
  for i in "${!labels[@]}"; do
    ./reg_bench.sh --target "${targets[$i]}" --label "${labels[$i]}" --rate "$rate" \
      --duration "$duration" --results "$results" ${PIN:+--pin "$PIN"} | grep -E "^label=" || true
  done
done

python3 - "$results" "${labels[@]}" <<'PY'
import statistics, sys
labels = sys.argv[2:]
runs = {l: [] for l in labels}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if kv.get("label") in runs:
        runs[kv["label"]].append(kv)
def vals(l, key):
    return [float(r[key]) for r in runs[l] if r.get(key) not in (None, "", "nan")]
def med(l, key):
    v = vals(l, key)
    return statistics.median(v) if v else float("nan")
base = med(labels[0], "srv_us_per_reg")
print("%-10s %-22s %8s %-16s %-14s %s" % ("target", "us/reg (runs)", "x first", "p99 ms (runs)",
                                         "peak RSS MB", "verdicts"))
for l in labels:
    us, p99 = vals(l, "srv_us_per_reg"), vals(l, "p99_ms")
    print("%-10s %-22s %8.2f %-16s %-14s %s" % (
        l, ", ".join("%.1f" % x for x in us), med(l, "srv_us_per_reg") / base if base else float("nan"),
        ", ".join("%.1f" % x for x in p99), "%.1f" % med(l, "peak_rss_mb"),
        " ".join(r.get("verdict", "?") for r in runs[l])))
PY
