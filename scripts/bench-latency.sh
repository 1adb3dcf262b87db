#!/usr/bin/env bash
# Latency at fixed offered rates (open loop) through the embedded broker; see
# scripts/bench-e2e.sh --latency. Each rate gets its own topic and a fresh
# sluice (all three sinks, outputs none), so its histograms hold that rate only.
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
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(5000 50000 200000)
fetch_wait_ms="${FETCH_WAIT_MS:-1}"
linger_ms="${LINGER_MS:-5}"
. scripts/bench-env.sh

topics="user.created:3"
for r in "${rates[@]}"; do topics="$topics,bench.rate$r:12,bench.rate$r.dlq:3"; done
start_broker "$topics"

# "p50 p99 p99.9 max" in microseconds from a `hist NAME` answer.
percentiles() {
  "$sluice" stats --socket "$work/s.sock" --raw "hist $1" |
    awk '$1 == "50.00" {a = $2} $1 == "99.00" {b = $2} $1 == "99.90" {c = $2} $1 == "100.00" {d = $2}
         END {printf "%10.1f %10.1f %10.1f %10.1f", a / 1e3, b / 1e3, c / 1e3, d / 1e3}'
}

echo "sluice fetch.wait.max.ms=$fetch_wait_ms, load generator linger.ms=$linger_ms"
printf '%-10s %-12s %10s %10s %10s %10s   %s\n' "rate/s" "latency" "p50 us" "p99 us" "p99.9 us" "max us" "(events)"
for r in "${rates[@]}"; do
  rm -f "$work/s.sock"
  "$sluice" run --set "kafka.bootstrap.servers=$bootstrap" --set "kafka.topics=[\"bench.rate$r\"]" \
    --set "kafka.group.id=latency-$r" --set "stats.socket=\"$work/s.sock\"" --set run.progress=false \
    --set sinks.enrichment.output=none --set sinks.notification.output=none --set sinks.analytics.output=none \
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
  "$sluice" loadgen --bootstrap "$bootstrap" --rate "$r" --duration "$seconds" --topic "bench.rate$r" --seed 7 \
    -X "linger.ms=$linger_ms" > "$work/load.out" 2>/dev/null
  sleep 1
  sent=$(sed -n 's/^loadgen: sent \([0-9]*\) .*/\1/p' "$work/load.out")
  printf '%-10s %-12s %s   (%s)\n' "$r" "in-pipeline" "$(percentiles in_pipeline)" "$sent"
  printf '%-10s %-12s %s\n' "" "end-to-end" "$(percentiles end_to_end)"
  kill -TERM "$run_pid"
  wait "$run_pid" || true
done
