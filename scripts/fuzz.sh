#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR for a share of SECONDS, seeded from the
# checked-in corpus and the conformance messages. Fails on any crash, leak or timeout.
set -euo pipefail
build=${1:?build dir}
total=${2:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
targets=()
for f in "$top"/tests/fuzz/fuzz_*.c; do
  [ -e "$f" ] || continue
  t=$(basename "$f" .c)
  [ -x "$build/$t" ] && targets+=("$t")
done
if ((${#targets[@]} == 0)); then
  echo "fuzz: no fuzz targets built in $build" >&2
  exit 1
fi
per=$(( total / ${#targets[@]} ))
((per >= 5)) || per=5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$top/tests/fuzz/findings"
  seeds=("$top/tests/fuzz/corpus/$t" "$shared/conformance/rfc4475" "$shared/bench/parse/corpus")
  existing=()
  for s in "${seeds[@]}"; do [ -d "$s" ] && existing+=("$s"); done
  dict=()
  [ -f "$top/tests/fuzz/sip.dict" ] && dict=(-dict="$top/tests/fuzz/sip.dict")
  echo "fuzz: $t for ${per}s"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build/$t" "$work/$t" "${existing[@]}" "${dict[@]}" -max_total_time="$per" \
      -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$top/tests/fuzz/findings/$t-" >"$work/$t.log" 2>&1; then
    tail -n 60 "$work/$t.log"
    echo "fuzz: $t FAILED; the input is under tests/fuzz/findings/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/$t.log" | sed "s/^/fuzz: $t /"
done
echo "fuzz: ${#targets[@]} targets, no findings"
