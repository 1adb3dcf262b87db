#!/usr/bin/env bash
# End-to-end throughput through Kafka on the embedded broker, in one run:
#   kcat (reads the corpus to a file, first event to last), perf/bare_consumer
#   (one thread, librdkafka + simdjson, sluice's settings), and sluice (group,
#   decode, all three sinks, commits, --until-caught-up), alternating
#   repetitions.
# Usage: scripts/bench-e2e.sh [EVENTS=1000000] [REPETITIONS=3] [PARTITIONS=96]
# Prints a table of medians, the ratios sluice/bare and sluice/kcat of the
# medians, and the same ratios within each repetition (median, min..max).
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
reps="${2:-3}"
partitions="${3:-96}"
. scripts/bench-env.sh

# The embedded broker keeps about 5 MiB per partition: spread the corpus.
start_broker "bench.events:$partitions,bench.events.dlq:3,user.created:3"

preload "$events"
bytes=$(kcat -C -b "$bootstrap" -t bench.events -e -q -f '%S\n' | awk '{s+=$1} END {print s}')

# One result line per run: tool events_per_s cpu_seconds max_rss_kib
results="$work/results"
: > "$results"
timed() { /usr/bin/time -f '%U %S %e %M' -o "$work/time" "$@" > "$work/out" 2>/dev/null; }
cpu() { awk '{print $1 + $2, $4}' "$work/time"; }
topics='["bench.events"]'
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
  echo "kcat $(awk -v n="$events" -v f="$first" '{printf "%.0f", (n - 1) / ($3 - f)}' "$work/time") $(cpu)" >> "$results"

  # bare consumer: first event to last, as it reports.
  timed build/perf/bare_consumer "$bootstrap" "bench-bare-$r" bench.events
  echo "bare $(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$work/out") $(cpu)" >> "$results"

  # sluice: first event to the final commit, as --until-caught-up reports.
  timed "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" --set "kafka.topics=$topics" \
    --set "kafka.group.id=bench-sluice-$r" --set 'stats.socket=""' --set run.progress=false \
    --set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none \
    --until-caught-up
  echo "sluice $(sed -n 's/^caught up: .*(\([0-9]*\) events\/s)$/\1/p' "$work/out") $(cpu)" >> "$results"
  echo "repetition $r: $(tail -3 "$results" | tr '\n' ' ')"
done

python3 - "$results" "$events" "$bytes" <<'PY'
import statistics, sys
path, events, nbytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
for line in open(path):
    tool, rate, cpu, rss = line.split()
    runs.setdefault(tool, []).append((float(rate), float(cpu), int(rss)))
avg = nbytes / events
print(f"\n{events} events, {avg:.0f} B average, {len(runs['sluice'])} repetitions (medians; min..max)")
print(f"{'':8} {'events/s':>12} {'range':>21} {'MB/s':>8} {'CPU s/M events':>15} {'max RSS MiB':>12}")
med = {}
for tool in ("kcat", "bare", "sluice"):
    rates = [r for r, _, _ in runs[tool]]
    cpus = [c for _, c, _ in runs[tool]]
    rss = max(m for _, _, m in runs[tool])
    med[tool] = statistics.median(rates)
    print(f"{tool:8} {med[tool]:12.0f} {min(rates):10.0f}..{max(rates):<10.0f} {med[tool] * avg / 1e6:8.1f} "
          f"{statistics.median(cpus) / events * 1e6:15.2f} {rss / 1024:12.0f}")
print(f"sluice/bare {med['sluice'] / med['bare']:.2f}   sluice/kcat {med['sluice'] / med['kcat']:.2f}")
# The three run back to back in each repetition, while the host's speed
# drifts over minutes: ratios within a repetition vary less than medians.
for other in ("bare", "kcat"):
    ratios = [s[0] / o[0] for s, o in zip(runs["sluice"], runs[other])]
    print(f"sluice/{other} per repetition: median {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}..{max(ratios):.2f})")
PY
