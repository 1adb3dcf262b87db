#!/usr/bin/env bash
# soak_audit finds what it is meant to find: a clean run passes; a record
# removed from an output, a record processed again after its commit, a commit
# moving backwards or beyond the end, and a record of an offset the broker
# does not hold each fail it with their own VIOLATION line.
#   tests/soak_audit_test.sh SLUICE_BINARY SOAK_SAMPLER SOAK_AUDIT
set -uo pipefail
sluice=$1 sampler=$2 audit=$3
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
topics=portfolio.articles,portfolio.projects,portfolio.analytics,portfolio.notifications,user.created,task.updated,task.completed

"$sluice" broker >"$dir/broker.out" 2>"$dir/broker.err" &
pids+=($!)
for _ in $(seq 1 300); do grep -q '^bootstrap=' "$dir/broker.out" && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap=//p' "$dir/broker.out")
[ -n "$bootstrap" ] || { echo "FAIL: the broker did not start"; exit 1; }
"$sluice" loadgen -b "$bootstrap" --rate 0 --count 3000 --seed 5 >"$dir/loadgen.log" 2>&1 ||
  { echo "FAIL: loadgen: $(tail -2 "$dir/loadgen.log")"; exit 1; }

mkdir "$dir/out"
routes=""
for t in user.created task.updated task.completed article.created article.updated article.deleted \
  article.published article.unpublished project.created project.updated project.deleted project.featured \
  page.view article.view project.view user.action email.send notification.create default; do
  routes+="\"$t\" = [\"enrichment\", \"analytics\"]"$'\n'
done
cat >"$dir/m1.toml" <<EOF
[kafka]
bootstrap.servers = "$bootstrap"
group.id = "audit"
[kafka.properties]
"session.timeout.ms" = 6000
[stats]
socket = ""
[run]
progress = false
[sinks.enrichment]
output = "file:$dir/out/m1.enriched.jsonl"
[sinks.notification]
output = "none"
[sinks.analytics]
output = "none"
[routing]
$routes
EOF
"$sampler" "$bootstrap" audit "$topics" "$dir/out" "$dir/samples.txt" 100 2>"$dir/sampler.log" &
sampler_pid=$!
pids+=($sampler_pid)
timeout 120 "$sluice" run --config "$dir/m1.toml" --until-caught-up >"$dir/m1.log" 2>&1 ||
  { echo "FAIL: sluice run did not catch up: $(tail -3 "$dir/m1.log")"; exit 1; }
sleep 0.5
kill -TERM $sampler_pid
wait $sampler_pid
grep -c '^E$' "$dir/samples.txt" >/dev/null || fail "no samples taken"

run_audit() { "$audit" "$bootstrap" audit "$topics" "$dir/out" "$@" >"$dir/audit.out" 2>&1; }

run_audit "$dir/samples.txt" --committed-to-end
rc=$?
[ $rc -eq 0 ] || fail "clean run: exit $rc: $(cat "$dir/audit.out")"
grep -q "3000 offsets, 3000 processed" "$dir/audit.out" || fail "clean run: counts wrong: $(head -1 "$dir/audit.out")"

# A record removed: its offset is missing, and a commit covered it.
cp "$dir/out/m1.enriched.jsonl" "$dir/keep.jsonl"
sed -i '100d' "$dir/out/m1.enriched.jsonl"
removed=$(sed -n '100p' "$dir/keep.jsonl" | python3 -c 'import json,sys; s=json.load(sys.stdin)["source"]; print("%s/%s offsets %s " % (s["topic"], s["partition"], s["offset"]))')
run_audit "$dir/samples.txt" --committed-to-end
rc=$?
[ $rc -eq 1 ] || fail "removed record: exit $rc"
grep -q "^VIOLATION missing: $removed(1)" "$dir/audit.out" || fail "removed record: no missing line for $removed: $(cat "$dir/audit.out")"
grep -q "^VIOLATION commit-ahead: " "$dir/audit.out" || fail "removed record: no commit-ahead line"
cp "$dir/keep.jsonl" "$dir/out/m1.enriched.jsonl"

# The first 20 records again in another member's output, written after their commit.
head -20 "$dir/keep.jsonl" >"$dir/out/m2.enriched.jsonl"
run_audit "$dir/samples.txt"
rc=$?
[ $rc -eq 1 ] || fail "replay after commit: exit $rc"
grep -q "^VIOLATION replayed-after-commit: .* processed again in m2.enriched.jsonl after offset" "$dir/audit.out" ||
  fail "replay after commit: no violation line: $(cat "$dir/audit.out")"
grep -q "20 duplicates" "$dir/audit.out" || fail "replay after commit: duplicates not counted"
rm "$dir/out/m2.enriched.jsonl"

# A record of an offset past the end.
sed -n '1p' "$dir/keep.jsonl" | sed 's/"offset":[0-9]*/"offset":999999/' >>"$dir/out/m1.enriched.jsonl"
run_audit "$dir/samples.txt"
rc=$?
[ $rc -eq 1 ] || fail "phantom: exit $rc"
grep -q "^VIOLATION phantom: .*@999999" "$dir/audit.out" || fail "phantom: no violation line: $(cat "$dir/audit.out")"
cp "$dir/keep.jsonl" "$dir/out/m1.enriched.jsonl"

# Samples where a committed offset goes back, then beyond the end.
part=$(grep -m1 '^C ' "$dir/samples.txt" | awk '{print $2, $3}')
{
  cat "$dir/samples.txt"
  printf 'S 1\nC %s 0\nE\nS 2\nC %s 99999999\nE\n' "$part" "$part"
} >"$dir/bad-samples.txt"
run_audit "$dir/bad-samples.txt"
rc=$?
[ $rc -eq 1 ] || fail "bad commits: exit $rc"
grep -q "^VIOLATION commit-backwards: ${part/ //} committed offset moved back" "$dir/audit.out" ||
  fail "no commit-backwards line: $(cat "$dir/audit.out")"
grep -q "^VIOLATION commit-beyond-end: ${part/ //} committed 99999999" "$dir/audit.out" ||
  fail "no commit-beyond-end line: $(cat "$dir/audit.out")"

if [ $failures -eq 0 ]; then
  echo "soak audit: all checks passed"
  exit 0
fi
echo "soak audit: $failures failures"
exit 1
