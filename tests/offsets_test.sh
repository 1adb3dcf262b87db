#!/usr/bin/env bash
# sluice offsets show|reset through the real binary against `sluice broker`
# (the embedded broker), with kcat producing and sluice run consuming.
set -euo pipefail
sluice="$1"
work=$(mktemp -d /tmp/sluice-offsets-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$sluice" broker --no-default-topics --topics a:2,a.dlq:2 > "$work/broker.out" 2> "$work/broker.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
b=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[ -n "$b" ] || fail "broker did not start"
for i in $(seq 1 20); do
    echo "t$i:{\"eventType\":\"task.updated\",\"taskId\":\"t$i\",\"creatorId\":\"u1\",\"timestamp\":\"2026-01-01T00:00:00Z\"}"
done | kcat -b "$b" -P -t a -K: -p -1 2> /dev/null
# The high watermarks as kcat sees them (-Q is by time; -o end is simpler: count per partition).
high0=$(kcat -b "$b" -C -t a -p 0 -e -q -f 'x\n' 2> /dev/null | wc -l)
high1=$(kcat -b "$b" -C -t a -p 1 -e -q -f 'x\n' 2> /dev/null | wc -l)
[ $((high0 + high1)) -eq 20 ] || fail "kcat sees $high0 + $high1 messages"

off() { "$sluice" offsets -b "$b" --topics a "$@"; }
row() { awk -v p="$2" '$1 == "a" && $2 == p' "$1"; }

# A group that never committed: "-", lag = everything.
off --group fresh show > "$work/show"
[ "$(row "$work/show" 0)" = "$(printf '%-32s %9d %12s %12d %12d %10d' a 0 - 0 "$high0" "$high0")" ] || fail "show: $(cat "$work/show")"
[ "$(row "$work/show" 1 | awk '{print $3, $5, $6}')" = "- $high1 $high1" ] || fail "show: $(cat "$work/show")"

# After sluice consumed and committed everything: committed = high, lag 0.
"$sluice" run --set "kafka.bootstrap.servers=\"$b\"" --set 'kafka.topics=["a"]' --set kafka.group.id=consumers \
    --set 'sinks.enrichment.directory.topic=""' --set sinks.enrichment.output=none --set sinks.notification.output=none \
    --set sinks.analytics.output=none --set 'stats.socket=""' --set 'stats.http=""' --set run.progress=false \
    --until-caught-up > "$work/run.out" 2>&1 || fail "sluice run: $(tail -3 "$work/run.out")"
off --group consumers show > "$work/show"
[ "$(row "$work/show" 0 | awk '{print $3, $6}')" = "$high0 0" ] || fail "after run: $(cat "$work/show")"
[ "$(row "$work/show" 1 | awk '{print $3, $6}')" = "$high1 0" ] || fail "after run: $(cat "$work/show")"

# reset: --dry-run commits nothing; earliest, an offset (clamped), latest.
off --group fresh reset --to earliest --dry-run > "$work/out"
grep -qx "dry run: nothing committed" "$work/out" || fail "dry run: $(cat "$work/out")"
off --group fresh show | awk '$1 == "a" {print $3}' | sort -u | grep -qx -- - || fail "the dry run committed"
off --group fresh reset --to 3 > "$work/out"
grep -qx "committed the new offsets of group fresh" "$work/out" || fail "reset: $(cat "$work/out")"
off --group fresh show > "$work/show"
[ "$(row "$work/show" 0 | awk '{print $3, $6}')" = "3 $((high0 - 3))" ] || fail "after --to 3: $(cat "$work/show")"
off --group fresh reset --to 1000000 > /dev/null
off --group fresh show > "$work/show"
[ "$(row "$work/show" 1 | awk '{print $3}')" = "$high1" ] || fail "an offset past the end is clamped: $(cat "$work/show")"
off --group fresh reset --to earliest > /dev/null
off --group fresh show > "$work/show"
[ "$(row "$work/show" 0 | awk '{print $3}')" = "0" ] || fail "after earliest: $(cat "$work/show")"

# A group with a member: refused, and nothing changes.
"$sluice" run --set "kafka.bootstrap.servers=\"$b\"" --set 'kafka.topics=["a"]' --set kafka.group.id=busy \
    --set 'sinks.enrichment.directory.topic=""' --set sinks.enrichment.output=none --set sinks.notification.output=none \
    --set sinks.analytics.output=none --set "stats.socket=\"$work/busy.sock\"" --set 'stats.http=""' \
    --set run.progress=false > "$work/busy.out" 2>&1 &
busy=$!
pids+=($busy)
for _ in $(seq 1 300); do
    [ "$(printf 'ready\n' | timeout 2 "$sluice" stats --socket "$work/busy.sock" --raw ready 2>/dev/null)" = "ready" ] && break
    sleep 0.1
done
# Until the member has committed everything: later commits of the same
# offsets change nothing, so a difference can only come from the reset.
for _ in $(seq 1 300); do
    off --group busy show > "$work/before"
    [ "$(awk '$1 == "a" {print $6}' "$work/before" | sort -u)" = "0" ] && break
    sleep 0.1
done
[ "$(awk '$1 == "a" {print $6}' "$work/before" | sort -u)" = "0" ] || fail "the busy group never committed: $(cat "$work/before")"
rc=0
off --group busy reset --to earliest > "$work/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "reset of an active group exited $rc: $(cat "$work/out")"
grep -q "group busy has active members" "$work/out" || fail "refusal: $(cat "$work/out")"
off --group busy show > "$work/after"
diff "$work/before" "$work/after" > /dev/null || fail "a refused reset changed offsets"
kill -TERM "$busy"; wait "$busy" || true

# Usage: a bad --to and a missing subcommand are 64; an unknown topic is 1.
rc=0; off --group fresh reset --to yesterday > "$work/out" 2>&1 || rc=$?
[ "$rc" -eq 64 ] && grep -q "expected earliest, latest, an offset or an ISO 8601 time, got 'yesterday'" "$work/out" ||
    fail "bad --to: $rc $(head -2 "$work/out")"
rc=0; "$sluice" offsets --group g -b "$b" > "$work/out" 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "no subcommand: $rc"
rc=0; "$sluice" offsets --group g -b "$b" --topics nope show > "$work/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "no such topic: nope" "$work/out" || fail "unknown topic: $rc $(cat "$work/out")"
echo "offsets: all checks passed"
