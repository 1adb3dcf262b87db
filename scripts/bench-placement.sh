#!/usr/bin/env bash
# What each sink placement (pipeline.sinks = threads | inline) costs in
# throughput, in one run: a preloaded corpus, read from the embedded broker
# (the consumer group, --until-caught-up) and from a capture file (--source
# replay:FILE), each with outputs none and with the production config's Kafka
# outputs, each placement in turn within every repetition.
# Usage: scripts/bench-placement.sh [EVENTS=300000] [REPETITIONS=3]
# Prints each run, then per source and outputs the medians (events/s, CPU s
# per million events) of both placements and their ratio inline/threads, the
# median of the per-repetition ratios beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-300000}"
reps="${2:-3}"
. scripts/bench-env.sh

start_broker "bench.events:96,bench.events.dlq:3,replay.dlq:3,user.created:3,enriched.events:12,notifications.outbox:12,analytics.rollups:3"
preload "$events"
capture

none=(--set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none)
kafka=(--set sinks.enrichment.output=kafka:enriched.events --set sinks.notification.output=kafka:notifications.outbox
       --set sinks.analytics.output=kafka:analytics.rollups)

results="$work/results"
: > "$results"
for r in $(seq 1 "$reps"); do
  for source in kafka replay; do
    for outputs in none kafka; do
      for placement in threads inline; do
        if [ "$outputs" = none ]; then sets=("${none[@]}"); else sets=("${kafka[@]}"); fi
        if [ "$source" = kafka ]; then
          src=(--set 'kafka.topics=["bench.events"]' --set "kafka.group.id=placement-$r-$outputs-$placement")
        else
          src=(--source "replay:$work/capture.ndjson")
        fi
        /usr/bin/time -f '%U %S' -o "$work/time" "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" \
          --set 'stats.socket=""' --set run.progress=false --set "pipeline.sinks=\"$placement\"" \
          "${sets[@]}" "${src[@]}" --until-caught-up > "$work/out" 2> "$work/err" || { tail "$work/out" "$work/err" >&2; exit 1; }
        # First event to the final commit, after every delivery, as sluice reports.
        rate=$(sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out")
        line="$source $outputs $placement $rate $(awk -v n="$events" '{printf "%.2f", ($1 + $2) / n * 1e6}' "$work/time")"
        echo "repetition $r: $line"
        echo "$r $line" >> "$results"
      done
    done
  done
done

python3 - "$results" "$events" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    rep, source, outputs, placement, rate, cpu = line.split()
    runs.setdefault((source, outputs, placement), {})[rep] = (float(rate), float(cpu))
print(f"\n{sys.argv[2]} events, medians over repetitions")
print(f"{'source':8} {'outputs':8} {'threads ev/s':>13} {'inline ev/s':>12} {'ratio':>6} {'per rep':>8}"
      f" {'CPU s/M threads':>16} {'inline':>7}")
for source in ("kafka", "replay"):
    for outputs in ("none", "kafka"):
        t, i = runs[(source, outputs, "threads")], runs[(source, outputs, "inline")]
        mt = statistics.median(v[0] for v in t.values())
        mi = statistics.median(v[0] for v in i.values())
        per = statistics.median(i[k][0] / t[k][0] for k in t if k in i)
        ct = statistics.median(v[1] for v in t.values())
        ci = statistics.median(v[1] for v in i.values())
        print(f"{source:8} {outputs:8} {mt:13.0f} {mi:12.0f} {mi / mt:6.2f} {per:8.2f} {ct:16.2f} {ci:7.2f}")
PY
