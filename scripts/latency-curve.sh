#!/usr/bin/env bash
# Offered rate against in-pipeline and end-to-end latency (p50/p99/p99.9)
# over a step profile, on the embedded broker: one `sluice run`
# (config/demo.toml, its built-in load off), one `sluice loadgen --rate
# A,A,B,C --step-duration S` (the first step warms up), and the stats socket's
# interval histograms read every 0.25 s and merged per step. Prints a table
# and writes it to OUT.tsv, plotted to OUT.svg with gnuplot.
# Usage: scripts/latency-curve.sh [RATES] [STEP_SECONDS] [OUT]
#   defaults: 1000,2000,5000,10000,20000,40000  10  perf/latency-curve
# Extra `sluice run` settings: LATENCY_CURVE_SET="key=value key=value".
set -euo pipefail
cd "$(dirname "$0")/.."
rates=${1:-1000,2000,5000,10000,20000,40000}
step=${2:-10}
out=${3:-perf/latency-curve}
sluice=${SLUICE:-build/app/sluice}
[ -x "$sluice" ] || scripts/setup.sh >&2
command -v gnuplot >/dev/null || scripts/setup.sh >&2

work=$(mktemp -d /tmp/sluice-curve-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

sets=(--set "stats.socket=\"$work/stats.sock\"" --set 'stats.http=""' --set loadgen.rate=0)
for kv in ${LATENCY_CURVE_SET:-}; do sets+=(--set "$kv"); done
"$sluice" run --config config/demo.toml "${sets[@]}" > "$work/run.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do grep -q "embedded broker" "$work/run.out" 2>/dev/null && break; sleep 0.1; done
bootstrap=$(sed -n 's/.* from \([^ ]*\) (embedded broker).*/\1/p' "$work/run.out")
[ -n "$bootstrap" ] || { echo "latency-curve: sluice did not start: $(cat "$work/run.out")" >&2; exit 1; }
for _ in $(seq 1 300); do [ -S "$work/stats.sock" ] && break; sleep 0.1; done
# The group must own its partitions before the first step is due.
for _ in $(seq 1 300); do
    "$sluice" stats --socket "$work/stats.sock" --raw stats | grep -q '"rebalances":[1-9]' && break
    sleep 0.1
done

python3 scripts/latency_intervals.py "$work/stats.sock" "$work/intervals.tsv" &
poller=$!
pids+=($poller)
# A first step at the first rate warms up the broker, the group's fetchers
# and the caches; it is not reported.
"$sluice" loadgen --bootstrap "$bootstrap" --rate "${rates%%,*},$rates" --step-duration "$step" -X linger.ms=1 \
    > "$work/loadgen.out" 2> "$work/loadgen.err"
sleep 2  # the last step's events through the pipeline
kill -TERM "$poller"
wait "$poller" || true
cat "$work/loadgen.out" >&2

mkdir -p "$(dirname "$out")"
start=$(sed -n 's/^loadgen: schedule started at \([0-9.]*\).*/\1/p' "$work/loadgen.out")
start=$(python3 -c "print($start + $step)")  # after the warm-up step
python3 scripts/latency_intervals.py --steps "$rates" "$step" "$start" "$work/intervals.tsv" > "$out.tsv"
column -t "$out.tsv"
gnuplot <<GP
set terminal svg size 900,520 font "sans,12" background "white"
set output "$out.svg"
set title "sluice: latency against offered rate (embedded broker, $(nproc) CPUs, ${step}s steps)"
set xlabel "offered rate (events/s)"
set ylabel "latency (ms)"
set logscale xy
set xrange [$(python3 -c "r=[float(x) for x in '$rates'.split(',')]; print(f'{min(r)/1.5}:{max(r)*1.5}')")]
set xtics (1000, 2000, 5000, 10000, 20000, 50000, 100000)
set key top left
set grid
plot "$out.tsv" using 1:4 with linespoints title "end-to-end p50", \
     "" using 1:5 with linespoints title "end-to-end p99", \
     "" using 1:6 with linespoints title "end-to-end p99.9", \
     "" using 1:7 with linespoints dashtype 2 title "in-pipeline p50", \
     "" using 1:8 with linespoints dashtype 2 title "in-pipeline p99", \
     "" using 1:9 with linespoints dashtype 2 title "in-pipeline p99.9"
GP
echo "latency-curve: $out.tsv and $out.svg" >&2
