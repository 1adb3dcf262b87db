#!/usr/bin/env bash
# Latency at fixed offered rates (open loop) through the embedded broker, each
# sink placement in turn (pipeline.sinks), and beside them the broker's own
# share; see scripts/bench-e2e.sh --latency.
# Usage: scripts/bench-latency.sh [SECONDS=10] [RATE ...]   (default 5000 50000 200000)
#
# For each repetition and rate, in turn and on their own topic: a fresh sluice
# per placement (all three sinks), so its histograms hold that run only; then
# perf/arrival_latency, a plain consumer with sluice's consumer settings that
# only records each event's arrival (Kafka timestamp to the consumer): what
# the producer's linger and the broker's fetch answer cost before sluice sees
# the event. Kafka timestamps are in milliseconds, so end-to-end and arrival
# figures carry up to 1 ms of rounding each; in-pipeline is to the nanosecond.
#
# The embedded broker (librdkafka's mock) answers a fetch that finds no data
# only after the consumer's fetch.wait.max.ms, even if data arrives meanwhile
# (a real broker answers at once), and the load generator's producer lingers
# up to linger.ms before sending. Both go straight into end-to-end latency, so
# they are settings of this script (environment, defaults as shown):
#   FETCH_WAIT_MS=1   sluice's fetch.wait.max.ms (sluice's own default is 10:
#                     on a real broker it only paces fetches of idle partitions)
#   LINGER_MS=5       the load generator's linger.ms (lower floods the mock
#                     broker with produce requests at 50 000/s and up)
#   MODES="inline threads"  the placements, alternating within each repetition
#   REPS=1            repetitions; the summary gives the median of each figure
#   OUTPUTS=none      none, or kafka: the production config's output topics
#   SLUICE_SET="k=v ..."  more settings for every sluice run, e.g.
#                     'threads.source.wait="spin-then-park" threads.source.spin=20000'
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(5000 50000 200000)
fetch_wait_ms="${FETCH_WAIT_MS:-1}"
linger_ms="${LINGER_MS:-5}"
read -r -a modes <<< "${MODES:-inline threads}"
reps="${REPS:-1}"
outputs="${OUTPUTS:-none}"
case "$outputs" in
  none) output_sets=(--set sinks.enrichment.output=none --set sinks.notification.output=none
                     --set sinks.analytics.output=none) ;;
  kafka) output_sets=(--set sinks.enrichment.output=kafka:enriched.events
                      --set sinks.notification.output=kafka:notifications.outbox
                      --set sinks.analytics.output=kafka:analytics.rollups) ;;
  *) echo "OUTPUTS must be none or kafka" >&2; exit 64 ;;
esac
extra_sets=()
for kv in ${SLUICE_SET:-}; do extra_sets+=(--set "$kv"); done
. scripts/bench-env.sh
ninja -C build perf/arrival_latency > /dev/null

topics="user.created:3,enriched.events:12,notifications.outbox:12,analytics.rollups:3"
for rep in $(seq 1 "$reps"); do
  for r in "${rates[@]}"; do
    for m in "${modes[@]}" broker; do topics="$topics,bench.$rep.$r.$m:12,bench.$rep.$r.$m.dlq:3"; done
  done
done
start_broker "$topics"

# "p50 p99 p99.9 max" in microseconds from a `hist NAME` answer.
percentiles() {
  "$sluice" stats --socket "$work/s.sock" --raw "hist $1" |
    awk '$1 == "50.00" {a = $2} $1 == "99.00" {b = $2} $1 == "99.90" {c = $2} $1 == "100.00" {d = $2}
         END {printf "%.1f %.1f %.1f %.1f", a / 1e3, b / 1e3, c / 1e3, d / 1e3}'
}
offer() {  # TOPIC RATE: the load, open loop; prints the events sent
  "$sluice" loadgen --bootstrap "$bootstrap" --rate "$2" --duration "$seconds" --topic "$1" --seed 7 \
    -X "linger.ms=$linger_ms" > "$work/load.out" 2>/dev/null
  sed -n 's/^loadgen: sent \([0-9]*\) .*/\1/p' "$work/load.out"
}

# One line per figure: rep rate contestant stage events p50 p99 p99.9 max
results="$work/results"
: > "$results"
echo "sluice fetch.wait.max.ms=$fetch_wait_ms, load generator linger.ms=$linger_ms, outputs $outputs, ${seconds} s per run${SLUICE_SET:+, $SLUICE_SET}"
for rep in $(seq 1 "$reps"); do
  for r in "${rates[@]}"; do
    mark=$(wc -l < "$results")
    for m in "${modes[@]}"; do
      topic="bench.$rep.$r.$m"
      rm -f "$work/s.sock"
      "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" --set "kafka.topics=[\"$topic\"]" \
        --set "kafka.group.id=latency-$rep-$r-$m" --set "stats.socket=\"$work/s.sock\"" --set run.progress=false \
        --set "pipeline.sinks=\"$m\"" "${output_sets[@]}" "${extra_sets[@]}" \
        --set "kafka.properties.\"fetch.wait.max.ms\"=$fetch_wait_ms" \
        > "$work/run.out" 2>&1 &
      run_pid=$!
      bench_pids+=("$run_pid")
      # Offer load once all 12 partitions are assigned and fetching (a high
      # watermark known from a fetch answer): events sent before would wait for
      # the group join and the first fetch, which is not the latency of the rate.
      for _ in $(seq 1 300); do
        [ -S "$work/s.sock" ] && "$sluice" stats --socket "$work/s.sock" --raw stats > "$work/stats.json" &&
          [ "$(grep -o '"assigned":true' "$work/stats.json" | wc -l)" -eq 12 ] &&
          ! grep -q '"high_watermark":-1' "$work/stats.json" && break
        sleep 0.1
      done
      sent=$(offer "$topic" "$r")
      sleep 1
      for stage in in_pipeline end_to_end; do
        echo "$rep $r $m $stage $sent $(percentiles $stage)" >> "$results"
      done
      kill -TERM "$run_pid"
      wait "$run_pid" || true
    done
    # The broker's share: the same load into a consumer that does nothing.
    topic="bench.$rep.$r.broker"
    build/perf/arrival_latency "$bootstrap" "arrival-$rep-$r" "$topic" "$seconds" \
      -X "fetch.wait.max.ms=$fetch_wait_ms" > "$work/arrival.out" &
    arrival_pid=$!
    bench_pids+=("$arrival_pid")
    for _ in $(seq 1 300); do grep -q '^assigned' "$work/arrival.out" && break; sleep 0.1; done
    sleep 1  # its first fetch positions it at the end ("latest"): load sent before would be skipped
    sent=$(offer "$topic" "$r")
    wait "$arrival_pid"
    echo "$rep $r broker arrival $sent $(awk '/^arrival:/ {print $4, $5, $6, $7}' "$work/arrival.out")" >> "$results"
    tail -n +$((mark + 1)) "$results" |
      awk '{printf "rep %s rate %s %-8s %-12s p50 %8s p99 %8s p99.9 %8s max %8s us (%s events)\n", $1, $2, $3, $4, $6, $7, $8, $9, $5}'
  done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rep, rate, who, stage, sent, *p = line.split()
    rows.setdefault((int(rate), who, stage), []).append([float(x) for x in p])
print(f"\nmedians over repetitions, microseconds")
print(f"{'rate/s':>8} {'contestant':<10} {'stage':<12} {'p50':>9} {'p99':>9} {'p99.9':>9} {'max':>9} {'runs':>5}")
for (rate, who, stage), runs in sorted(rows.items()):
    med = [statistics.median(r[i] for r in runs) for i in range(4)]
    print(f"{rate:>8} {who:<10} {stage:<12} " + " ".join(f"{v:9.1f}" for v in med) + f" {len(runs):>5}")
PY
