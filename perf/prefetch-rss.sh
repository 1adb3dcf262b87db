#!/usr/bin/env bash
# What bounding librdkafka's prefetch costs: sluice --until-caught-up on
# EVENTS preloaded events (96 partitions of the embedded broker), with each
# `queued.min.messages` given, alternating, REPETITIONS times: events/s and
# maximum RSS of each run; first, the RSS of sluice idle on an empty topic
# with as many partitions.
# Usage: perf/prefetch-rss.sh [EVENTS=1000000] [REPETITIONS=3] [MIN_MESSAGES ...]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
reps="${2:-3}"
shift 2 || shift $#
limits=("$@")
[ ${#limits[@]} -gt 0 ] || limits=(1000000 300000 100000)
. scripts/bench-env.sh

start_broker "bench.events:96,bench.events.dlq:3,user.created:3,idle.events:96"
"$sluice" loadgen --bootstrap "$bootstrap" --rate 0 --count "$events" --seed 42 --topic bench.events > /dev/null

none="--set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none"
printf '%-22s %12s %10s\n' queued.min.messages events/s "max RSS"
# shellcheck disable=SC2086  # $none is several words on purpose
/usr/bin/time -f '%M' -o "$work/time" "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" \
  --set 'kafka.topics=["idle.events"]' --set kafka.group.id=rss-idle --set 'stats.socket=""' \
  --set run.progress=false $none --duration 5 > "$work/out" 2>&1
printf '%-22s %12s %6d MiB\n' "idle (empty topic, 5 s)" - $(( $(cat "$work/time") / 1024 ))
for r in $(seq 1 "$reps"); do
  for limit in "${limits[@]}"; do
    /usr/bin/time -f '%M' -o "$work/time" "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" \
      --set 'kafka.topics=["bench.events"]' --set "kafka.group.id=rss-$r-$limit" --set 'stats.socket=""' \
      --set run.progress=false $none --set "kafka.properties.\"queued.min.messages\"=$limit" \
      --until-caught-up > "$work/out" 2>&1
    rate=$(sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out")
    printf '%-22s %12s %6d MiB\n' "$limit" "$rate" $(( $(cat "$work/time") / 1024 ))
  done
done
