#!/usr/bin/env bash
# Sets everything up, builds, runs every test (unit, integration against the
# embedded broker, end to end with kcat), then the lock-free pieces (ring,
# waiter, commit tracker) again under ThreadSanitizer, and ends with
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
meson test -C build --print-errorlogs --num-processes 2
status=$?

# ThreadSanitizer: only the targets it checks are built (a few minutes).
tsan_tests=(spsc_ring wait_strategy commit_tracker)
tsan_status=0
if [ ! -f build-tsan/build.ninja ]; then
  meson setup build-tsan -Db_sanitize=thread -Dbuildtype=debugoptimized -Db_lundef=false >/dev/null ||
    tsan_status=1
fi
if [ $tsan_status -eq 0 ]; then
  targets=()
  for t in "${tsan_tests[@]}"; do targets+=("tests/${t}_test"); done
  ninja -C build-tsan "${targets[@]}" >/dev/null || tsan_status=1
fi
if [ $tsan_status -eq 0 ]; then
  meson test -C build-tsan --no-rebuild --print-errorlogs --suite unit "${tsan_tests[@]}" || tsan_status=1
else
  echo "test: ThreadSanitizer build failed" >&2
fi

python3 - "$tsan_status" <<'PY'
import json, os, sys
passed = failed = 0
for log in ("build/meson-logs/testlog.json", "build-tsan/meson-logs/testlog.json"):
    if not os.path.exists(log):
        continue
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            if r["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r["result"] != "SKIP":
                failed += 1
if sys.argv[1] != "0" and failed == 0:
    failed = 1  # the sanitizer build itself failed
print(f"{passed} passed, {failed} failed")
PY
[ $status -eq 0 ] && [ $tsan_status -eq 0 ]
