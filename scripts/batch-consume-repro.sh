#!/usr/bin/env bash
# librdkafka 2.0.2's rd_kafka_consume_batch_queue losing messages during
# cooperative rebalances, next to rd_kafka_consumer_poll under the same churn
# (tests/batch_consume_repro.cpp: embedded broker, three plain consumers of one
# cooperative-sticky group, two of them taking turns joining and leaving).
# Usage: scripts/batch-consume-repro.sh [SECONDS=30] [RUNS=5]
# Runs each variant RUNS times for SECONDS each, one after the other, and
# prints per run the gaps (an offset skipped within one continuous ownership
# of a partition) and the offsets missing in them; then how many runs of each
# variant showed a gap. BATCH_CONSUME_REPRO names another build of the program.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
runs="${2:-5}"
case "$seconds$runs" in *[!0-9]*|'') echo "usage: $0 [SECONDS] [RUNS]" >&2; exit 64 ;; esac
repro="${BATCH_CONSUME_REPRO:-}"
if [ -z "$repro" ]; then
  if [ ! -d build ]; then
    scripts/setup.sh
    CXX="ccache g++" CC="ccache gcc" meson setup build --buildtype=release
  fi
  ninja -C build tests/batch_consume_repro >/dev/null
  repro=build/tests/batch_consume_repro
fi

declare -A with_gaps=([batch]=0 [poll]=0)
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$summary"; }
printf '%-6s %4s %6s %8s %9s %10s\n' variant run gaps missing received rebalances
for run in $(seq 1 "$runs"); do
  for mode in batch poll; do
    summary=$("$repro" "$mode" "$seconds" 2>/dev/null | grep '^mode=' || true)
    if [ -z "$summary" ]; then
      printf '%-6s %4d failed (run "%s %s %s" to see why)\n' "$mode" "$run" "$repro" "$mode" "$seconds"
      continue
    fi
    gaps=$(field gaps)
    printf '%-6s %4d %6d %8d %9d %10d\n' "$mode" "$run" "$gaps" "$(field missing)" "$(field received)" \
      "$(field rebalance_callbacks)"
    if [ "$gaps" -gt 0 ]; then with_gaps[$mode]=$((with_gaps[$mode] + 1)); fi
  done
done
echo "runs with a gap: batch ${with_gaps[batch]}/$runs, poll ${with_gaps[poll]}/$runs (${seconds} s each)"
