#!/usr/bin/env bash
# Where the CPU goes in the whole pipeline, per thread, without a broker in
# the way: captures EVENTS load-generator events with kcat (as a user would),
# replays them with `sluice run --source replay:FILE` (outputs none) and
# prints the CPU each thread used (user + system, from /proc, sampled every
# 20 ms until exit) and the replay rate, REPETITIONS times. The sinks run on
# threads of their own (pipeline.sinks = "threads"), so each shows as a
# sink-NAME thread whatever the machine's CPU count; inline, their CPU is the
# source thread's.
# Usage: perf/replay-profile.sh [EVENTS=1000000] [REPETITIONS=3]
#   SLUICE_SET="k=v ..." adds settings to every replay, after the placement,
#   e.g. 'pipeline.sinks="inline"'. SINKS_SET= (empty) leaves the placement
#   out, for a binary older than pipeline.sinks (it has sink threads only).
#   REPLAY_BINARIES="A B ..." replays the one capture with each of these sluice
#   binaries in turn in every repetition (an A/B comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
reps="${2:-3}"
extra_sets=()
placement=${SINKS_SET-pipeline.sinks=\"threads\"}
[ -n "$placement" ] && extra_sets+=(--set "$placement")
for kv in ${SLUICE_SET:-}; do extra_sets+=(--set "$kv"); done
. scripts/bench-env.sh

# The embedded broker keeps about 5 MiB per partition: spread the capture.
start_broker "bench.events:96"
preload "$events"
capture
kill "$broker_pid"  # the replay runs without it
echo "captured $(wc -l < "$work/capture.ndjson") events ($(du -m "$work/capture.ndjson" | cut -f1) MB)"

clk_tck=$(getconf CLK_TCK)
read -r -a binaries <<< "${REPLAY_BINARIES:-$sluice}"
for r in $(seq 1 "$reps"); do
  for binary in "${binaries[@]}"; do
    "$binary" run --source "replay:$work/capture.ndjson" --set 'stats.socket=""' --set run.progress=false \
      --set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none \
      "${extra_sets[@]}" > "$work/run.out" 2>&1 &
    pid=$!
    declare -A cpu_ms=()
    while kill -0 "$pid" 2>/dev/null; do
      for t in /proc/$pid/task/*; do
        # read, not $(cat): a fork per file makes a round slow on busy
        # vCPUs, and threads come and go between two rounds.
        read -r name 2>/dev/null < "$t/comm" || continue
        read -r stat 2>/dev/null < "$t/stat" || continue
        # Fields after the ")" that ends the name: utime and stime are the 12th and 13th.
        read -r -a f <<< "${stat##*) }"
        # Keep the largest reading: a thread that has exited but is not yet
        # reaped reads 0 here.
        ms=$(( (f[11] + f[12]) * 1000 / clk_tck ))
        [ "$ms" -gt "${cpu_ms[$name]:-0}" ] && cpu_ms[$name]=$ms
      done
      sleep 0.02
    done
    wait "$pid" || true
    label=""
    [ ${#binaries[@]} -gt 1 ] && label=" ($binary)"
    echo "repetition $r$label: $(tail -1 "$work/run.out")"
    for name in "${!cpu_ms[@]}"; do
      if [ "${cpu_ms[$name]}" -gt 0 ]; then printf '  %-16s %6d ms\n' "$name" "${cpu_ms[$name]}"; fi
    done | sort -k2 -n -r
    unset cpu_ms
  done
done
echo "(the thread named sluice is the set-up: the user directory read from the capture before the replay starts)"
