#!/usr/bin/env bash
# Runs the micro-benchmarks with repetitions and compares them with the
# baseline in perf/baselines/: each benchmark's change and its noise, and a
# non-zero exit when one got slower by more than the noise allows.
#
#   scripts/perf-regress.sh                 compare against perf/baselines/
#   scripts/perf-regress.sh --record        run and store a new baseline
#   REPETITIONS=9 THRESHOLD=0.10 scripts/perf-regress.sh
#   scripts/perf-regress.sh --instructions [--record]
#                                           instruction counts under callgrind:
#                                           independent of machine load, for a
#                                           gate on a noisy CI host
#
# A benchmark regresses when its median time rose by more than
# max(THRESHOLD, spread of the baseline, spread of this run), the spread being
# (max - min) / median over the repetitions: on a shared 2-core machine the
# noise is part of the measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
record=false
instructions=false
for arg in "$@"; do
  case "$arg" in
    --record) record=true ;;
    --instructions) instructions=true ;;
    *) echo "usage: scripts/perf-regress.sh [--instructions] [--record]" >&2; exit 2 ;;
  esac
done
reps="${REPETITIONS:-5}"
threshold="${THRESHOLD:-0.10}"
scripts/setup.sh >/dev/null
mkdir -p perf/baselines perf/results

if $instructions; then
  # Instructions per item of each fixed-work kernel (perf/instructions.cpp),
  # minus the process start-up measured with the empty kernel. Built for
  # x86-64-v3 (AVX2) in build-instructions: valgrind 3.19 stops at the first
  # AVX-512 instruction that -march=native emits on hosts that have it.
  [ -d build-instructions ] ||
    meson setup build-instructions --buildtype=release -Dcpu_arch=x86-64-v3 >/dev/null
  ninja -C build-instructions perf/instructions >/dev/null
  count() {
    local log
    log=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null build-instructions/perf/instructions "$1" 2>&1) ||
      { echo "perf-regress: kernel $1 failed under callgrind:" >&2; echo "$log" | grep -v '^==' | head -5 >&2; exit 1; }
    echo "$log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  base=$(count none)
  out=perf/results/instructions.txt
  : > "$out"
  for k in decode ring histogram watermark json dedup; do
    total=$(count "$k")
    echo "$k $(( (total - base) / 200000 ))" >> "$out"
  done
  if $record; then
    cp "$out" perf/baselines/instructions.txt
    echo "recorded perf/baselines/instructions.txt"; cat "$out"
    exit 0
  fi
  # Instruction counts are repeatable: more than 2% is a regression.
  python3 - <<'PY'
import sys
base = dict(l.split() for l in open("perf/baselines/instructions.txt"))
new = dict(l.split() for l in open("perf/results/instructions.txt"))
failed = False
for k, v in new.items():
    b = int(base.get(k, 0))
    change = int(v) / b - 1 if b else 0.0
    bad = change > 0.02
    failed |= bad
    print(f"  {k:10} {b:6} -> {int(v):6} instructions/item  {change:+6.1%}  {'REGRESSION' if bad else 'ok'}")
sys.exit(1 if failed else 0)
PY
  exit $?
fi

for bench in bench_ring bench_decode bench_parts bench_pipeline; do
  out="perf/results/$bench.json"
  build/perf/$bench --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=false \
    --benchmark_out="$out" --benchmark_out_format=json > /dev/null
  if $record; then
    cp "$out" "perf/baselines/$bench.json"
    echo "recorded perf/baselines/$bench.json"
  fi
done
$record && exit 0

python3 - "$threshold" <<'PY'
import json, statistics, sys
threshold = float(sys.argv[1])

def runs(path):
    data = json.load(open(path))
    by_name = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        by_name.setdefault(b["run_name"], []).append(b["real_time"])
    return data["context"], by_name

failed = False
for bench in ("bench_ring", "bench_decode", "bench_parts", "bench_pipeline"):
    try:
        base_ctx, base = runs(f"perf/baselines/{bench}.json")
    except FileNotFoundError:
        print(f"{bench}: no baseline (record one with scripts/perf-regress.sh --record)")
        failed = True
        continue
    _, new = runs(f"perf/results/{bench}.json")
    for name, times in sorted(new.items()):
        if name not in base:
            print(f"  {name:55} new (no baseline)")
            continue
        b, n = statistics.median(base[name]), statistics.median(times)
        spread = max((max(base[name]) - min(base[name])) / b, (max(times) - min(times)) / n)
        allowed = max(threshold, spread)
        change = n / b - 1
        verdict = "REGRESSION" if change > allowed else "ok"
        failed |= verdict != "ok"
        print(f"  {name:55} {change:+7.1%}  (noise ±{spread:5.1%}, allowed +{allowed:5.1%})  {verdict}")
sys.exit(1 if failed else 0)
PY
