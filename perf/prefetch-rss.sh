#!/usr/bin/env bash
# What bounding librdkafka's prefetch costs: sluice --until-caught-up on
# EVENTS preloaded events (96 partitions of the embedded broker), with each
# `queued.min.messages` given, alternating, REPETITIONS times: events/s and
# maximum RSS of each run.
# Usage: perf/prefetch-rss.sh [EVENTS=1000000] [REPETITIONS=3] [MIN_MESSAGES ...]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
reps="${2:-3}"
shift 2 || shift $#
limits=("$@")
[ ${#limits[@]} -gt 0 ] || limits=(1000000 300000 100000)
scripts/setup.sh >/dev/null
sluice=build/app/sluice
work=$(mktemp -d /tmp/sluice-rss-XXXXXX)
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$sluice" broker --no-default-topics --topics "bench.events:96,bench.events.dlq:3,user.created:3" \
  > "$work/broker.out" 2>/dev/null &
broker_pid=$!
for _ in $(seq 1 100); do grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
"$sluice" loadgen --bootstrap "$bootstrap" --rate 0 --count "$events" --seed 42 --topic bench.events > /dev/null

printf '%-22s %12s %10s\n' queued.min.messages events/s "max RSS"
for r in $(seq 1 "$reps"); do
  for limit in "${limits[@]}"; do
    /usr/bin/time -f '%M' -o "$work/time" "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" \
      --set 'kafka.topics=["bench.events"]' --set "kafka.group.id=rss-$r-$limit" --set 'stats.socket=""' \
      --set run.progress=false --set sinks.enrichment.output=none --set sinks.notification.output=none \
      --set sinks.analytics.output=none --set "kafka.properties.\"queued.min.messages\"=$limit" \
      --until-caught-up > "$work/out" 2>&1
    rate=$(sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out")
    printf '%-22s %12s %6d MiB\n' "$limit" "$rate" $(( $(cat "$work/time") / 1024 ))
  done
done
