#!/usr/bin/env bash
# What librdkafka consumer settings cost or buy through Kafka: sluice
# --until-caught-up on EVENTS preloaded events (96 partitions of the embedded
# broker, all three sinks, outputs none), once per SETTING in turn, REPETITIONS
# rounds; prints every run and the medians of events/s, CPU seconds per
# million events, max RSS and minor page faults. First, the RSS of sluice
# idle on an empty topic with as many partitions.
# Usage: perf/consumer-settings.sh [EVENTS=1000000] [REPETITIONS=3] [SETTING ...]
#   SETTING: key=value[,key=value...] of kafka.properties, or - for sluice's
#   defaults. Without settings: the fetch sizes, then the prefetch limits, of
#   perf/README.md (Fetch sizes).
# The sinks run on threads of their own (pipeline.sinks = "threads"), as in
# perf/README.md's figures; SLUICE_SET="k=v ..." adds settings to every run,
# after that one, e.g. 'pipeline.sinks="inline"'. SINKS_SET= (empty) leaves the
# placement out, for a binary older than pipeline.sinks (sink threads only).
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
reps="${2:-3}"
shift 2 || shift $#
settings=("$@")
if [ ${#settings[@]} -eq 0 ]; then
  settings=(- fetch.max.bytes=52428800,max.partition.fetch.bytes=1048576
            fetch.max.bytes=4194304,max.partition.fetch.bytes=1048576
            fetch.max.bytes=1048576,max.partition.fetch.bytes=1048576
            fetch.max.bytes=524288,max.partition.fetch.bytes=131072,message.max.bytes=524288
            queued.min.messages=300000 queued.min.messages=100000)
fi
. scripts/bench-env.sh

start_broker "bench.events:96,bench.events.dlq:3,user.created:3,idle.events:96"
preload "$events"

common=(--set "kafka.bootstrap.servers=$bootstrap" --set 'stats.socket=""' --set run.progress=false
        --set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none)
placement=${SINKS_SET-pipeline.sinks=\"threads\"}
[ -n "$placement" ] && common+=(--set "$placement")
for kv in ${SLUICE_SET:-}; do common+=(--set "$kv"); done
/usr/bin/time -f '%M' -o "$work/time" "$sluice" run "${common[@]}" --set 'kafka.topics=["idle.events"]' \
  --set kafka.group.id=idle --duration 5 > "$work/out" 2>&1
echo "idle (empty topic, 5 s): max RSS $(( $(cat "$work/time") / 1024 )) MiB"

results="$work/results"
: > "$results"
for r in $(seq 1 "$reps"); do
  for i in "${!settings[@]}"; do
    props=()
    if [ "${settings[$i]}" != - ]; then
      IFS=, read -r -a kvs <<< "${settings[$i]}"
      for kv in "${kvs[@]}"; do props+=(--set "kafka.properties.\"${kv%%=*}\"=${kv#*=}"); done
    fi
    /usr/bin/time -f '%U %S %M %R' -o "$work/time" "$sluice" run "${common[@]}" --set 'kafka.topics=["bench.events"]' \
      --set "kafka.group.id=settings-$r-$i" "${props[@]}" --until-caught-up > "$work/out" 2>&1
    rate=$(sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out")
    echo "$i $rate $(cat "$work/time")" >> "$results"
    echo "round $r: ${settings[$i]}: $rate events/s, $(cat "$work/time") (user s, sys s, max RSS KiB, minor faults)"
  done
done

python3 - "$results" "$events" "${settings[@]}" <<'PY'
import statistics, sys
path, events, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
runs = {}
for line in open(path):
    i, rate, user, sys_s, rss, faults = line.split()
    runs.setdefault(int(i), []).append((float(rate), float(user) + float(sys_s), int(rss), int(faults)))
print(f"\n{'setting':70} {'events/s':>10} {'CPU s/M':>8} {'max RSS MiB':>12} {'minor faults':>12}")
for i, name in enumerate(names):
    r = runs[i]
    print(f"{name if name != '-' else '(sluice defaults)':70} {statistics.median(x[0] for x in r):10.0f} "
          f"{statistics.median(x[1] for x in r) / events * 1e6:8.2f} {max(x[2] for x in r) / 1024:12.0f} "
          f"{statistics.median(x[3] for x in r):12.0f}")
PY
