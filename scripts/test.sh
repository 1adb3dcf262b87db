#!/usr/bin/env bash
# Sets everything up, builds, and runs every test, then ends with
# "N passed, N failed":
#  1. release build: unit, integration (embedded broker), faults (injected
#     through the broker's controls), processes (the real binary: kill -9,
#     SIGTERM, scale-out), end to end with kcat and the 40 s soak
#     (scripts/soak.sh: group churn under broker faults, every offset audited);
#  2. AddressSanitizer + UndefinedBehaviorSanitizer (clang, build-sanitize):
#     unit, integration and faults again;
#  3. ThreadSanitizer (gcc, build-tsan): the ring, waiter, commit tracker and
#     the pipeline integration test;
#  4. each libFuzzer target for FUZZ_SECONDS (default 20);
#  5. the instruction-count regression gate (scripts/perf-regress.sh
#     --instructions: callgrind, so the host's load does not matter).
# The sanitizer builds compile in the background while step 1 runs (its
# tests mostly wait on the broker), and steps 2 and 3+4 run side by side.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/meson-logs
rm -f build/meson-logs/fuzz-summary.log build/meson-logs/instructions.log build-sanitize/meson-logs/testlog.json build-tsan/meson-logs/testlog.json
fuzz_seconds="${FUZZ_SECONDS:-20}"
tsan_tests=(spsc_ring wait_strategy commit_tracker pipeline_integration)

(
  scripts/sanitize-setup.sh sanitize tsan &&
    nice -n 10 ninja -C build-sanitize &&
    nice -n 10 ninja -C build-tsan $(printf 'tests/%s_test ' "${tsan_tests[@]}")
) >build/meson-logs/sanitizer-builds.log 2>&1 &
builds=$!

meson test -C build --print-errorlogs --num-processes 2
status=$?

wait $builds
builds_status=$?
if [ $builds_status -ne 0 ]; then
  echo "test: a sanitizer build failed (build/meson-logs/sanitizer-builds.log):" >&2
  tail -20 build/meson-logs/sanitizer-builds.log >&2
fi

# Beside the sanitizer runs: its build takes a minute of CPU, its count seconds.
nice -n 10 scripts/perf-regress.sh --instructions >build/meson-logs/instructions.log 2>&1 &
instr=$!

san_status=1 tsan_status=1 fuzz_status=1
if [ $builds_status -eq 0 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-sanitize --no-rebuild --print-errorlogs \
      --suite unit --suite integration --suite faults --no-suite allocation \
      >build/meson-logs/sanitize-run.log 2>&1 &
  san=$!
  (
    echo "== ThreadSanitizer"
    TSAN_OPTIONS="halt_on_error=0:suppressions=$PWD/tests/tsan.supp" \
      meson test -C build-tsan --no-rebuild --print-errorlogs "${tsan_tests[@]}"
    tsan=$?
    echo "== libFuzzer, ${fuzz_seconds} s per target"
    scripts/fuzz.sh "$fuzz_seconds" | tee build/meson-logs/fuzz-summary.log
    fuzz=${PIPESTATUS[0]}
    exit $((tsan * 2 + fuzz))
  )
  rc=$?
  tsan_status=$((rc / 2)) fuzz_status=$((rc % 2))
  wait $san
  san_status=$?
  cat build/meson-logs/sanitize-run.log
fi
wait $instr
instr_status=$?
echo "== instruction counts against perf/baselines/instructions.txt"
cat build/meson-logs/instructions.log

python3 - "$builds_status" "$instr_status" <<'PY'
import json, os, sys
passed = failed = 0
for log in ("build/meson-logs/testlog.json", "build-sanitize/meson-logs/testlog.json",
            "build-tsan/meson-logs/testlog.json"):
    if not os.path.exists(log):
        continue
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            if r["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r["result"] != "SKIP":
                failed += 1
if os.path.exists("build/meson-logs/fuzz-summary.log"):
    for line in open("build/meson-logs/fuzz-summary.log"):
        if line.startswith("fuzz "):
            if "no failure" in line:
                passed += 1
            else:
                failed += 1
if sys.argv[1] != "0":
    failed += 1  # a sanitizer build itself failed
if sys.argv[2] == "0":
    passed += 1  # the instruction-count gate
else:
    failed += 1
print(f"{passed} passed, {failed} failed")
PY
[ $status -eq 0 ] && [ $builds_status -eq 0 ] && [ $san_status -eq 0 ] && [ $tsan_status -eq 0 ] &&
  [ $fuzz_status -eq 0 ] && [ $instr_status -eq 0 ]
