# Sourced by the benchmark scripts, from the repository root. Builds sluice
# and sets:
#   sluice      the binary (SLUICE_BINARY overrides: another build to compare)
#   work        a temporary folder, removed at exit after killing bench_pids
#   bench_pids  processes to kill at exit (append to it)
# start_broker TOPICS starts `sluice broker` with only TOPICS
# (name:partitions,...), adds it to bench_pids and sets broker_pid and
# bootstrap; preload EVENTS fills bench.events (see below); capture writes
# what bench.events holds, one payload per line, to $work/capture.ndjson.
scripts/setup.sh >/dev/null
sluice="${SLUICE_BINARY:-build/app/sluice}"
work=$(mktemp -d /tmp/sluice-bench-XXXXXX)
bench_pids=()
bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

start_broker() {
  "$sluice" broker --no-default-topics --topics "$1" > "$work/broker.out" 2>/dev/null &
  broker_pid=$!
  bench_pids+=("$broker_pid")
  for _ in $(seq 1 100); do grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
  bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
  if [ -z "$bootstrap" ]; then echo "sluice broker printed no bootstrap line" >&2; exit 1; fi
}

# preload EVENTS: that many load-generator events (seed 42) into bench.events,
# spread evenly over its partitions (by key, the load generator's popular
# articles put twice the average into some partitions, past the ~5 MiB the
# embedded broker keeps of each), then checks that the broker kept them all.
preload() {
  echo "preloading $1 events into bench.events..."
  "$sluice" loadgen --bootstrap "$bootstrap" --rate 0 --count "$1" --seed 42 --topic bench.events \
    -X partitioner=random > "$work/load.out"
  local present
  present=$(kcat -C -b "$bootstrap" -t bench.events -e -q -f '%o\n' | wc -l)
  if [ "$present" -ne "$1" ]; then
    echo "the broker kept $present of $1 events (retention): use more partitions" >&2
    exit 1
  fi
}

capture() {
  kcat -C -b "$bootstrap" -t bench.events -e -q -f '%s\n' > "$work/capture.ndjson"
}
