#!/usr/bin/env bash
# The Prometheus rules: promtool check rules, promtool test rules, every alert
# tested, and the SLO threshold written the same in its two places.
# Usage: tests/prometheus_rules_test.sh RULES_FILE RULES_TEST_FILE
set -euo pipefail
rules=$1
tests=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

promtool check rules "$rules"
promtool test rules "$tests"

# Every alert has a test that expects it to fire (exp_alerts) and one that
# expects it not to (no exp_alerts).
for alert in $(sed -n 's/^ *- alert: *//p' "$rules"); do
  firing=$(awk -v a="$alert" '$0 ~ "alertname: *"a"$" {want=1; next}
    want && /exp_alerts:/ {n++} /alertname:|eval_time:/ {want=0} END {print n+0}' "$tests")
  quiet=$(awk -v a="$alert" '$0 ~ "alertname: *"a"$" {if (want) q++; want=1; next}
    want && /exp_alerts:/ {want=0} /eval_time:|^  - / {if (want) q++; want=0} END {if (want) q++; print q+0}' "$tests")
  [ "$firing" -gt 0 ] || fail "alert $alert has no test where it fires"
  [ "$quiet" -gt 0 ] || fail "alert $alert has no test where it stays quiet"
  echo "alert $alert: $firing firing, $quiet quiet case(s)"
done

le=$(sed -n 's/.*sluice_latency_seconds_bucket{stage="end_to_end", le="\([^"]*\)"}.*/\1/p' "$rules")
threshold=$(awk '/record: sluice:slo_threshold:seconds/ {getline; sub(/.*vector\(/, ""); sub(/\).*/, ""); print}' "$rules")
[ -n "$le" ] && [ -n "$threshold" ] || fail "the SLO threshold is not found in $rules"
[ "$le" = "$threshold" ] || fail "SLO threshold: le=\"$le\" but sluice:slo_threshold:seconds is $threshold"
echo "SLO threshold ${threshold}s in both places"
