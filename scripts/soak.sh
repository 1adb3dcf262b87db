#!/usr/bin/env bash
# Randomized soak: sluice run members joining, leaving, killed -9 and stopped
# with SIGTERM in one consumer group on the embedded broker while commits fail,
# partition leaders move and brokers answer slowly; then an audit of every
# offset (engine/README.md, The test suites).
#
#   scripts/soak.sh SECONDS [SEED]
#
# SECONDS of churn (the test command runs 40), then at most about a minute to
# stop, drain and audit. SEED (default: from the clock) fixes every choice;
# the seed is printed so a failing run can be replayed. Exits 0 when the audit
# finds no violation. The run's files are kept in the printed directory when
# something failed (or with SOAK_KEEP=1).
# From meson, SLUICE_BIN, SOAK_SAMPLER and SOAK_AUDIT name the binaries; by
# hand they are built in build/ first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ $# -gt 2 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 10 ] ||
  { [ $# -eq 2 ] && ! [[ "$2" =~ ^[0-9]+$ ]]; }; then
  echo "usage: scripts/soak.sh SECONDS [SEED]   (SECONDS >= 10, SEED a non-negative integer)" >&2
  exit 64
fi
seconds=$1
seed=${2:-$(( $(date +%s%N) % 1000000000 ))}

if [ -z "${SLUICE_BIN:-}" ]; then
  if [ ! -d build ]; then
    scripts/setup.sh
    CXX="ccache g++" CC="ccache gcc" meson setup build --buildtype=release
  fi
  ninja -C build app/sluice tests/soak_sampler tests/soak_audit
  SLUICE_BIN=$PWD/build/app/sluice
  SOAK_SAMPLER=$PWD/build/tests/soak_sampler
  SOAK_AUDIT=$PWD/build/tests/soak_audit
fi

dir=$(mktemp -d /tmp/sluice-soak.XXXXXX)
echo "soak: seed $seed, $seconds s, files in $dir (replay: scripts/soak.sh $seconds $seed)"
status=0
# The driver bounds every wait itself; this is the last resort if it hangs.
timeout --kill-after=10 $((seconds + 150)) \
  python3 scripts/soak_driver.py --seconds "$seconds" --seed "$seed" --dir "$dir" \
    --sluice "$SLUICE_BIN" --sampler "$SOAK_SAMPLER" --audit "$SOAK_AUDIT" || status=$?
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
  echo "VIOLATION soak: the driver itself did not finish in time (seed $seed)"
fi
if [ $status -eq 0 ] && [ -z "${SOAK_KEEP:-}" ]; then
  rm -rf "$dir"
else
  echo "soak: files kept in $dir"
fi
echo "soak: seed $seed: $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
