#!/usr/bin/env bash
# End-to-end throughput through Kafka on the embedded broker, in one run,
# alternating repetitions of five contestants:
#   sluice-kafka  the production path: config/production.toml (Kafka outputs
#                 enriched.events, notifications.outbox, analytics.rollups,
#                 its producer properties: lz4), group, decode, all three
#                 sinks, commits, --until-caught-up (first event to the final
#                 commit, which waits for every delivery)
#   ctp           perf/ctp_consumer: one thread consumes, decodes and
#                 produces the same records to the same topics with the same
#                 producer properties (first event to the last delivery)
#   sluice-none   the same sluice run with every output `none`
#   bare          perf/bare_consumer: one thread, librdkafka + simdjson,
#                 sluice's consumer settings, nothing else
#   kcat          reads the corpus to a file (first event to last)
# Usage: scripts/bench-e2e.sh [EVENTS=1000000] [REPETITIONS=9] [PARTITIONS=96]
# Prints a table of medians (events/s, output records/s, CPU s per million
# events, max RSS), the ratios sluice-kafka/ctp and sluice-none/bare of the
# medians, and the same ratios within each repetition (median, min..max).
#
# SLUICE_SET="k=v ..." adds settings to both sluice runs, e.g.
# 'pipeline.sinks="threads"' (the default, "auto", runs the sinks inline on
# fewer than 5 CPUs).
#
# Latency mode: scripts/bench-e2e.sh --latency [SECONDS=10] [RATE ...]
# offers load open-loop at each rate (default 5000 50000 200000 events/s) to a
# running sluice and prints in-pipeline and end-to-end p50/p99/p99.9/max per
# rate, so the latency-throughput curve is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--latency" ]; then
  shift
  exec scripts/bench-latency.sh "$@"
fi
events="${1:-1000000}"
reps="${2:-9}"
partitions="${3:-96}"
extra_sets=()
for kv in ${SLUICE_SET:-}; do extra_sets+=(--set "$kv"); done
. scripts/bench-env.sh

config=config/production.toml
# The production config's outputs, each a topic on the broker (12 partitions
# for the two per-event outputs, 3 for the rollups).
outputs=(enriched.events notifications.outbox analytics.rollups)
# The embedded broker keeps about 5 MiB per partition: spread the corpus.
start_broker "bench.events:$partitions,bench.events.dlq:3,user.created:3,enriched.events:12,notifications.outbox:12,analytics.rollups:3"

# The producer properties of the production config, for perf/ctp_consumer.
producer_props=()
while IFS= read -r kv; do producer_props+=(-X "$kv"); done < <(python3 - "$config" <<'PY'
import sys, tomllib
props = tomllib.load(open(sys.argv[1], "rb")).get("kafka", {}).get("producer", {}).get("properties", {})
for k, v in props.items():
    print(f"{k}={str(v).lower() if isinstance(v, bool) else v}")
PY
)

preload "$events"
bytes=$(kcat -C -b "$bootstrap" -t bench.events -e -q -f '%S\n' | awk '{s+=$1} END {print s}')

# Records ever written to the output topics: the sum of their end offsets
# (the last record of each partition, which retention keeps).
output_records() {
  for t in "${outputs[@]}"; do kcat -C -b "$bootstrap" -t "$t" -o -1 -e -q -f '%o\n'; done | awk '{s += $1 + 1} END {print s + 0}'
}

# One result line per run: tool events_per_s cpu_seconds max_rss_kib records records_per_s
results="$work/results"
: > "$results"
timed() {
  if ! /usr/bin/time -f '%U %S %e %M' -o "$work/time" "$@" > "$work/out" 2> "$work/err"; then
    echo "failed: $*" >&2
    tail -20 "$work/out" "$work/err" >&2
    exit 1
  fi
}
cpu() { awk '{print $1 + $2, $4}' "$work/time"; }
sluice_run() {  # GROUP [--set KEY=VALUE ...]
  local group="$1"
  shift
  timed "$sluice" run --config "$config" --set "kafka.bootstrap.servers=$bootstrap" --set 'kafka.topics=["bench.events"]' \
    --set "kafka.group.id=$group" --set 'stats.socket=""' --set 'stats.http=""' --set run.progress=false \
    "${extra_sets[@]}" "$@" --until-caught-up
}
caught_up_rate() { sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out"; }
for r in $(seq 1 "$reps"); do
  # kcat, first event to last: it reports neither, so it reads EVENTS
  # messages and stops (-c), less the same for one message (start-up and
  # exit). With -e it would also wait out its end-of-partition checks,
  # 0.4-0.6 s here that are not reading.
  timed kcat -C -b "$bootstrap" -t bench.events -c 1 -q -o beginning -f '%o\n'
  first=$(awk '{print $3}' "$work/time")
  timed kcat -C -b "$bootstrap" -t bench.events -c "$events" -q -o beginning -f '%o\n'
  got=$(wc -l < "$work/out")
  if [ "$got" -ne "$events" ]; then echo "kcat read $got of $events events" >&2; exit 1; fi
  echo "kcat $(awk -v n="$events" -v f="$first" '{printf "%.0f", (n - 1) / ($3 - f)}' "$work/time") $(cpu) 0 0" >> "$results"

  # bare consumer: first event to last, as it reports.
  timed build/perf/bare_consumer "$bootstrap" "bench-bare-$r" bench.events
  echo "bare $(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$work/out") $(cpu) 0 0" >> "$results"

  # sluice, outputs none: first event to the final commit.
  sluice_run "bench-none-$r" --set sinks.enrichment.output=none --set sinks.notification.output=none \
    --set sinks.analytics.output=none
  echo "sluice-none $(caught_up_rate) $(cpu) 0 0" >> "$results"

  # The loop: first event to the last delivery report, as it reports.
  timed build/perf/ctp_consumer "$bootstrap" "bench-ctp-$r" bench.events "${producer_props[@]}"
  echo "ctp $(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$work/out") $(cpu)" \
    "$(sed -n 's/.* records \([0-9]*\) (\([0-9]*\) records\/s).*/\1 \2/p' "$work/out")" >> "$results"

  # sluice, Kafka outputs: first event to the final commit, which comes after
  # every record's delivery; its records are what the output topics gained.
  before=$(output_records)
  sluice_run "bench-kafka-$r"
  written=$(( $(output_records) - before ))
  rate=$(caught_up_rate)
  echo "sluice-kafka $rate $(cpu) $written $(awk -v w="$written" -v n="$events" -v r="$rate" 'BEGIN {printf "%.0f", w * r / n}')" >> "$results"
  echo "repetition $r: $(tail -5 "$results" | awk '{printf "%s %s  ", $1, $2}')"
done

python3 - "$results" "$events" "$bytes" <<'PY'
import statistics, sys
path, events, nbytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
for line in open(path):
    tool, rate, cpu, rss, recs, recs_rate = line.split()
    runs.setdefault(tool, []).append((float(rate), float(cpu), int(rss), int(recs), float(recs_rate)))
avg = nbytes / events
order = ("sluice-kafka", "ctp", "sluice-none", "bare", "kcat")
print(f"\n{events} events, {avg:.0f} B average, {len(runs['sluice-kafka'])} repetitions (medians; min..max)")
print(f"{'':13} {'events/s':>10} {'range':>21} {'records/s':>10} {'records':>8} {'CPU s/M events':>15} {'max RSS MiB':>12}")
med, cpu = {}, {}
for tool in order:
    rows = runs[tool]
    rates = [r[0] for r in rows]
    med[tool] = statistics.median(rates)
    cpu[tool] = statistics.median(r[1] for r in rows) / events * 1e6
    recs = [r[3] for r in rows]
    out_rate = f"{statistics.median(r[4] for r in rows):10.0f}" if any(recs) else f"{'-':>10}"
    out_n = f"{statistics.median(recs):8.0f}" if any(recs) else f"{'-':>8}"
    print(f"{tool:13} {med[tool]:10.0f} {min(rates):10.0f}..{max(rates):<10.0f} {out_rate} {out_n} "
          f"{cpu[tool]:15.2f} {max(r[2] for r in rows) / 1024:12.0f}")
# The same records, or the comparison is off: the two counts must agree (the
# rollups, one per event-time window, may differ by one where the windows'
# boundary falls between partitions read in a different order).
for tool in ("sluice-kafka", "ctp"):
    counts = sorted(set(r[3] for r in runs[tool]))
    print(f"records per run, {tool}: {', '.join(map(str, counts))} ({statistics.median(counts) / events:.2f} per event)")
print(f"sluice-kafka/ctp {med['sluice-kafka'] / med['ctp']:.2f} (CPU per event {cpu['sluice-kafka'] / cpu['ctp']:.2f})   "
      f"sluice-none/bare {med['sluice-none'] / med['bare']:.2f}   sluice-none/kcat {med['sluice-none'] / med['kcat']:.2f}")
# The five run back to back in each repetition, while the host's speed
# drifts over minutes: ratios within a repetition vary less than medians.
for mine, other in (("sluice-kafka", "ctp"), ("sluice-none", "bare")):
    ratios = [s[0] / o[0] for s, o in zip(runs[mine], runs[other])]
    print(f"{mine}/{other} per repetition: median {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}..{max(ratios):.2f})")
PY
