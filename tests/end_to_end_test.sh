#!/usr/bin/env bash
# End to end through the real binary: sluice broker, sluice loadgen, sluice run,
# sluice stats; results checked with kcat, a Kafka client other than sluice.
set -euo pipefail
sluice="$1"
production_config="$2"   # config/production.toml: must work against any cluster
work=$(mktemp -d /tmp/sluice-e2e-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Bad command lines and configuration: usage or one clear error, non-zero exit.
expect_error() {  # expected-text command...
    local want="$1" rc=0
    shift
    "$@" > "$work/bad.out" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] || fail "'$*' exited 0"
    grep -qF -- "$want" "$work/bad.out" || fail "'$*' did not say '$want': $(head -3 "$work/bad.out")"
}
expect_error "Usage: " "$sluice" run --bogus
expect_error "Usage: " "$sluice" frobnicate
expect_error "File does not exist: /nonexistent.toml" "$sluice" run --config /nonexistent.toml
expect_error "config: pipeline.ring.size: must be between 1 and" "$sluice" run --set pipeline.ring.size=0
expect_error "config: --source: expected kafka or replay:FILE (got 'bogus')" "$sluice" run --source bogus
expect_error "cannot open replay file /nonexistent/capture.ndjson: No such file or directory" \
    "$sluice" run --source replay:/nonexistent/capture.ndjson
expect_error "--property: expected key=value, got 'linger.ms'" "$sluice" loadgen -b localhost:1 -n 1 -X linger.ms
expect_error "kafka property no.such.property=1: No such configuration property" \
    "$sluice" loadgen -b localhost:1 -n 1 -X no.such.property=1
printf '[kafka]\nbootstrap.servers = \n' > "$work/broken.toml"
expect_error "config: $work/broken.toml:2:" "$sluice" run --config "$work/broken.toml"

"$sluice" broker > "$work/broker.out" 2> "$work/broker.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[ -n "$bootstrap" ] || fail "sluice broker printed no bootstrap line"
echo "broker at $bootstrap"

count=5000
"$sluice" loadgen --bootstrap "$bootstrap" --rate 0 --count $count --seed 9 -X linger.ms=2 > "$work/loadgen.out"
grep -q "sent $count events" "$work/loadgen.out" || fail "loadgen: $(cat "$work/loadgen.out")"

# The produced events as kcat sees them.
topics="portfolio.articles portfolio.projects portfolio.analytics portfolio.notifications user.created task.updated task.completed"
produced=0
for t in $topics; do
    n=$(kcat -C -b "$bootstrap" -t "$t" -e -q -f '%o\n' | wc -l)
    produced=$((produced + n))
done
[ "$produced" -eq "$count" ] || fail "kcat sees $produced of $count produced events"

# One malformed event, to see it in the dead-letter topic.
printf '{"event_id":"broken"' | kcat -P -b "$bootstrap" -t portfolio.analytics -p 0 -k bad-1

# The embedded broker holds a group for session.timeout - 1 s after its last
# member left; a short session keeps the restart below quick.
session='kafka.properties."session.timeout.ms"=6000'
"$sluice" run --config "$production_config" --set "kafka.bootstrap.servers=$bootstrap" \
    --set kafka.group.id=e2e --set "$session" --set stats.http= \
    --set "stats.socket=\"$work/stats.sock\"" --set commit.interval.ms=50 > "$work/run.out" 2>&1 &
run_pid=$!
pids+=($run_pid)

# Wait until every input partition is committed up to its end (kcat's view
# of the end offsets, sluice stats' view of the commits).
for _ in $(seq 1 120); do
    if [ -S "$work/stats.sock" ]; then
        consumed=$("$sluice" stats --socket "$work/stats.sock" --raw stats | sed -n 's/.*"source":{"consumed":\([0-9]*\).*/\1/p')
        lag=$("$sluice" stats --socket "$work/stats.sock" --raw stats | sed -n 's/.*"totals":{"lag":\([0-9]*\).*/\1/p')
        [ "${consumed:-0}" -eq $((count + 1)) ] && [ "${lag:-1}" -eq 0 ] && break
    fi
    sleep 0.5
done
"$sluice" stats --socket "$work/stats.sock" > "$work/stats.txt" || fail "sluice stats failed"
grep -q "^consumed $((count + 1))" "$work/stats.txt" || fail "stats table: $(head -3 "$work/stats.txt")"
grep -q "^decode " "$work/stats.txt" || fail "stats table has no decode row"

kill -TERM $run_pid
wait $run_pid || fail "sluice run did not exit 0 on SIGTERM: $(tail -5 "$work/run.out")"
grep -q "sluice: stopped: consumed $((count + 1))" "$work/run.out" || fail "run summary: $(tail -2 "$work/run.out")"

# Outputs and dead letters, read back with kcat.
enriched=$(kcat -C -b "$bootstrap" -t enriched.events -e -q -f '%s\n' | wc -l)
notified=$(kcat -C -b "$bootstrap" -t notifications.outbox -e -q -f '%s\n' | wc -l)
dead=$(kcat -C -b "$bootstrap" -t portfolio.analytics.dlq -e -q -f '%k %h\n')
echo "enriched=$enriched notifications=$notified"
[ "$enriched" -gt 0 ] || fail "no enriched events"
[ "$notified" -gt 0 ] || fail "no notifications"
echo "$dead" | grep -q '^bad-1 .*sluice.failure_reason=invalid JSON' || fail "dead letter: $dead"

# Expected enriched count: the task, article and project events kcat saw.
expected=0
for t in task.updated task.completed portfolio.articles portfolio.projects; do
    n=$(kcat -C -b "$bootstrap" -t "$t" -e -q -f '%o\n' | wc -l)
    expected=$((expected + n))
done
[ "$enriched" -eq "$expected" ] || fail "enriched.events has $enriched records, expected $expected"

# A restart of the same group resumes from the commits: it processes exactly
# the 100 events produced since, nothing twice.
"$sluice" loadgen --bootstrap "$bootstrap" --rate 0 --count 100 --seed 10 > /dev/null
"$sluice" run --config "$production_config" --set "kafka.bootstrap.servers=$bootstrap" \
    --set kafka.group.id=e2e --set "$session" --set stats.http= \
    --set "stats.socket=\"$work/stats2.sock\"" --duration 15 > "$work/run2.out" 2>&1 || fail "second run failed"
grep -q "sluice: stopped: consumed 100," "$work/run2.out" || fail "restart: $(tail -1 "$work/run2.out")"
# kcat joins the same group: it starts at sluice's committed offsets, so it
# must find nothing left to read (it would read from the beginning of any
# partition without a commit). Same assignor as sluice: the embedded broker
# cannot mix protocols within one group.
left=$(timeout 60 kcat -b "$bootstrap" -G e2e -X session.timeout.ms=6000 \
    -X partition.assignment.strategy=cooperative-sticky -X auto.offset.reset=earliest \
    -e -q -f '%t %p %o\n' $topics || true)
[ -z "$left" ] || fail "kcat in group e2e found uncommitted events: $(echo "$left" | head -3)"

# Replay: what kcat captured (one payload per line), plus two malformed lines,
# through `sluice run --source replay:FILE` with the same sinks.
: > "$work/capture.ndjson"
enrich_lines=0
for t in $topics; do
    kcat -C -b "$bootstrap" -t "$t" -e -q -f '%s\n' > "$work/topic.ndjson"
    case "$t" in task.*|portfolio.articles|portfolio.projects) enrich_lines=$((enrich_lines + $(wc -l < "$work/topic.ndjson"))) ;; esac
    cat "$work/topic.ndjson" >> "$work/capture.ndjson"
done
good_lines=$(wc -l < "$work/capture.ndjson")
printf '{"event_id":"broken"\n\n' >> "$work/capture.ndjson"
lines=$((good_lines + 2))
"$sluice" run --source "replay:$work/capture.ndjson" --set "kafka.bootstrap.servers=$bootstrap" \
    --set stats.http= --set "stats.socket=\"$work/replay.sock\"" --set run.progress=false \
    --set "sinks.enrichment.output=\"file:$work/replay-enriched.jsonl\"" > "$work/replay.out" 2>&1 ||
    fail "replay exited non-zero: $(tail -3 "$work/replay.out")"
tail -1 "$work/replay.out" | grep -Eq "^caught up: $lines events in [0-9.]+ s \([0-9]+ events/s\)$" ||
    fail "replay's last line: $(tail -1 "$work/replay.out")"
grep -q "every line before line $((lines + 1)) is done" "$work/replay.out" || fail "replay summary: $(cat "$work/replay.out")"
[ "$(wc -l < "$work/replay-enriched.jsonl")" -eq "$enrich_lines" ] ||
    fail "replay enriched $(wc -l < "$work/replay-enriched.jsonl") lines, expected $enrich_lines"
# Each dead letter names its line number and why.
replay_dead=$(kcat -C -b "$bootstrap" -t replay.dlq -e -q -f '%h\n')
echo "$replay_dead" | grep -q "sluice.source.topic=replay,sluice.source.partition=0,sluice.source.offset=$((good_lines + 1)),sluice.failure_reason=invalid JSON" ||
    fail "replay dead letters: $replay_dead"
echo "$replay_dead" | grep -q "sluice.source.offset=$((good_lines + 2)),sluice.failure_reason=empty payload" ||
    fail "replay dead letters: $replay_dead"
# A pipe works too (kcat ... | sluice run --source replay:/dev/stdin).
head -n 1000 "$work/capture.ndjson" | "$sluice" run --source replay:/dev/stdin --set "kafka.bootstrap.servers=$bootstrap" \
    --set stats.http= --set 'stats.socket=""' --set run.progress=false --set sinks.enrichment.output=none \
    --set sinks.notification.output=none --set sinks.analytics.output=none > "$work/pipe.out" 2>&1 ||
    fail "replay from a pipe: $(tail -3 "$work/pipe.out")"
tail -1 "$work/pipe.out" | grep -q "^caught up: 1000 events" || fail "replay from a pipe: $(tail -1 "$work/pipe.out")"
echo "end to end: ok"
