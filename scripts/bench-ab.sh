#!/usr/bin/env bash
# Before/after of a change on the Kafka path: two sluice binaries consume the
# same preloaded corpus from the embedded broker, alternating, each run in its
# own group with all three sinks (outputs none) and --until-caught-up.
# Usage: scripts/bench-ab.sh OLD_BINARY NEW_BINARY [REPETITIONS=5] [EVENTS=1000000]
# (e.g. OLD_BINARY built from a `git worktree` of the earlier commit). Prints
# each run and the medians: events/s, CPU seconds per million events, max RSS.
# BENCH_OUTPUTS=kafka: the production path instead, the sinks writing to Kafka
# topics (enriched.events, notifications.outbox, analytics.rollups) on the
# same broker.
# OLD_SET / NEW_SET="k=v ...": settings for one side only, e.g.
# NEW_SET='pipeline.sinks="threads"' against a binary older than that key.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/bench-ab.sh OLD_BINARY NEW_BINARY [REPETITIONS] [EVENTS]" >&2; exit 2; }
old=$(realpath "$1")
new=$(realpath "$2")
reps="${3:-5}"
events="${4:-1000000}"
cd "$(dirname "$0")/.."
. scripts/bench-env.sh

outputs=(--set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none)
topics="bench.events:96,bench.events.dlq:3,user.created:3"
if [ "${BENCH_OUTPUTS:-none}" = kafka ]; then
  outputs=(--set sinks.enrichment.output=kafka:enriched.events --set sinks.notification.output=kafka:notifications.outbox
           --set sinks.analytics.output=kafka:analytics.rollups)
  topics="$topics,enriched.events:3,notifications.outbox:3,analytics.rollups:3"
fi
start_broker "$topics"
preload "$events"

results="$work/results"
: > "$results"
for r in $(seq 1 "$reps"); do
  for side in old new; do
    bin=$old sets=${OLD_SET:-}
    [ "$side" = new ] && bin=$new sets=${NEW_SET:-}
    side_sets=()
    for kv in $sets; do side_sets+=(--set "$kv"); done
    /usr/bin/time -f '%U %S %M' -o "$work/time" "$bin" run --set "kafka.bootstrap.servers=$bootstrap" \
      --set 'kafka.topics=["bench.events"]' --set "kafka.group.id=ab-$side-$r" --set 'stats.socket=""' \
      --set run.progress=false "${outputs[@]}" "${side_sets[@]}" --until-caught-up > "$work/out" 2>/dev/null
    line="$side $(sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out") $(awk '{print $1 + $2, $3}' "$work/time")"
    echo "$line" >> "$results"
    echo "repetition $r: $line"
  done
done

python3 - "$results" "$events" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, rate, cpu, rss = line.split()
    runs.setdefault(side, []).append((float(rate), float(cpu), int(rss)))
n = int(sys.argv[2])
print(f"{'':4} {'events/s':>10} {'CPU s/M events':>15} {'max RSS MiB':>12}")
for side in ("old", "new"):
    r = runs[side]
    print(f"{side:4} {statistics.median(x[0] for x in r):10.0f} "
          f"{statistics.median(x[1] for x in r) * 1e6 / n:15.2f} {max(x[2] for x in r) / 1024:12.0f}")
PY
