#!/usr/bin/env bash
# Parser benchmark against the peers: builds ../shared/bench/parse/peer_parse_bench (libosip2,
# libre, Sofia-SIP) and bench/parse_bench (sipreg, Release), runs them alternately on the same
# corpus with the same rounds, and prints every line, the median ns/msg of each parser and how
# many times faster sipreg is than each peer. Exits non-zero when sipreg's checksum differs from
# the peers' or any message failed.
#
# Environment: ROUNDS (default 20000), RUNS (pairs of runs, default 3), SHARED (the shared
# material, default ../shared beside the repository), BUILD_DIR (default build-bench), REV (a git
# revision: benchmark that commit, exported into a temporary tree and built there, instead of the
# working tree; e.g. REV=HEAD to leave uncommitted files out, or to compare two commits).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
rounds=${ROUNDS:-20000}
runs=${RUNS:-3}
build=${BUILD_DIR:-$top/build-bench}
corpus_dir=$shared/bench/parse/corpus

[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive integer" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[ -x "$shared/bench/parse/build.sh" ] || { echo "no peer benchmark under $shared" >&2; exit 2; }
shopt -s nullglob
corpus=("$corpus_dir"/*.sip)
((${#corpus[@]})) || { echo "no corpus in $corpus_dir" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "building the peers' benchmark..."
if ! "$shared/bench/parse/build.sh" "$tmp/peer_parse_bench" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2
  exit 1
fi
src=$top
if [ -n "${REV:-}" ]; then
  rev=$(git -C "$top" rev-parse --short "$REV^{commit}")
  src=$tmp/src
  build=$tmp/build
  mkdir -p "$src"
  git -C "$top" archive "$rev" | tar -x -C "$src"
  echo "sipreg at $rev"
fi
echo "building sipreg's benchmark (Release, $build)..."
if ! { cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIPREG_SHARED_DIR="$shared" &&
       cmake --build "$build" --target parse_bench -j"$(nproc)"; } >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2
  exit 1
fi

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $runs x (peers, sipreg), $rounds rounds"
for ((i = 1; i <= runs; i++)); do
  "$tmp/peer_parse_bench" -n "$rounds" "${corpus[@]}" | tee -a "$tmp/out"
  "$build/parse_bench" -n "$rounds" "${corpus[@]}" | tee -a "$tmp/out"
done

# Result lines: NAME N msgs/s X ns/msg checksum H failed F
awk -v runs="$runs" '
  function median(name,   n, i, j, t, v) {
    n = cnt[name]
    for (i = 1; i <= n; i++) v[i] = ns[name, i]
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  $3 == "msgs/s" && $5 == "ns/msg" && $6 == "checksum" && $8 == "failed" {
    name = $1
    if (!(name in cnt)) order[++names] = name
    ns[name, ++cnt[name]] = $4
    sum[name] = sum[name] " " $7
    if ($9 != 0) { printf "FAIL: %s failed %s message(s)\n", name, $9; bad = 1 }
    if (name != "sipreg") ref[$7] = 1
  }
  END {
    if (!("sipreg" in cnt)) { print "FAIL: no sipreg result"; exit 1 }
    npeers = 0
    for (k = 1; k <= names; k++) if (order[k] != "sipreg") npeers++
    if (!npeers) { print "FAIL: no peer result"; exit 1 }
    nref = 0
    for (h in ref) { nref++; want = h }
    if (nref != 1) {
      printf "FAIL: the peers print %d different checksums\n", nref; bad = 1
    }
    split(sum["sipreg"], ours, " ")
    for (i in ours)
      if (nref == 1 && ours[i] != want) {
        printf "FAIL: sipreg checksum %s, the peers print %s\n", ours[i], want; bad = 1; break
      }
    print ""
    printf "median ns/msg over %d runs:\n", runs
    for (k = 1; k <= names; k++) printf "  %-8s %8.1f\n", order[k], median(order[k])
    s = median("sipreg")
    for (k = 1; k <= names; k++)
      if (order[k] != "sipreg") {
        r = median(order[k]) / s
        if (r >= 1) printf "sipreg vs %s: %.1fx faster\n", order[k], r
        else printf "sipreg vs %s: %.1fx slower\n", order[k], 1 / r
      }
    exit bad
  }' "$tmp/out"
