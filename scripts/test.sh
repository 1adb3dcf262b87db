#!/usr/bin/env bash
# Sets everything up, builds, runs every test (unit, integration against the
# embedded broker, end to end with kcat) and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
meson test -C build --print-errorlogs --num-processes 2
status=$?
python3 - <<'PY'
import json
passed = failed = 0
with open("build/meson-logs/testlog.json") as f:
    for line in f:
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r["result"] != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
