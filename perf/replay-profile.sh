#!/usr/bin/env bash
# Where the CPU goes in the whole pipeline, per thread, without a broker in
# the way: captures EVENTS load-generator events with kcat (as a user would),
# replays them with `sluice run --source replay:FILE` (outputs none) and
# prints the CPU each thread used (user + system, from /proc, sampled every
# 20 ms until exit) and the replay rate, REPETITIONS times.
# Usage: perf/replay-profile.sh [EVENTS=1000000] [REPETITIONS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
reps="${2:-3}"
. scripts/bench-env.sh

# The embedded broker keeps about 5 MiB per partition: spread the capture.
start_broker "bench.events:96"
preload "$events"
kcat -C -b "$bootstrap" -t bench.events -e -q -f '%s\n' > "$work/capture.ndjson"
kill "$broker_pid"  # the replay runs without it
echo "captured $(wc -l < "$work/capture.ndjson") events ($(du -m "$work/capture.ndjson" | cut -f1) MB)"

for r in $(seq 1 "$reps"); do
  "$sluice" run --source "replay:$work/capture.ndjson" --set 'stats.socket=""' --set run.progress=false \
    --set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none \
    > "$work/run.out" 2>&1 &
  pid=$!
  declare -A cpu_ms=()
  while kill -0 "$pid" 2>/dev/null; do
    for t in /proc/$pid/task/*; do
      name=$(cat "$t/comm" 2>/dev/null) || continue
      stat=$(cat "$t/stat" 2>/dev/null) || continue
      # Fields after the ")" that ends the name: utime and stime are the 12th and 13th.
      read -r -a f <<< "${stat##*) }"
      cpu_ms[$name]=$(( (f[11] + f[12]) * 1000 / $(getconf CLK_TCK) ))
    done
    sleep 0.02
  done
  wait "$pid" || true
  echo "repetition $r: $(tail -1 "$work/run.out")"
  for name in "${!cpu_ms[@]}"; do
    [ "${cpu_ms[$name]}" -gt 0 ] && printf '  %-16s %6d ms\n' "$name" "${cpu_ms[$name]}"
  done | sort -k2 -n -r
  unset cpu_ms
done
echo "(the thread named sluice is the set-up: the user directory read from the capture before the replay starts)"
