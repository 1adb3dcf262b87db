#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs (build, run, test) and builds it.
# Usage: scripts/setup.sh [buildtype]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config
  librdkafka-dev libsimdjson-dev liburing-dev libmimalloc-dev
  libconcurrentqueue-dev libreaderwriterqueue-dev libtomlplusplus-dev libcli11-dev
  libxxhash-dev libgtest-dev libbenchmark-dev kcat time
  zlib1g-dev  # HdrHistogram interval logs (V2 compressed)
  valgrind  # the instruction-count gate (scripts/perf-regress.sh --instructions)
  clang libclang-rt-14-dev  # sanitizer and libFuzzer builds (scripts/test.sh, scripts/fuzz.sh)
  prometheus  # promtool and the server: rules and dashboard tests (tests/prometheus_*)
  libhdrhistogram-java default-jre-headless  # HdrHistogram's reader checks `stats --hdr-log` (tests/hdr_log_test.py)
  chromium  # the live page at GET /, headless (tests/live_page_test.py)
  gnuplot-nox  # scripts/latency-curve.sh plots
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

buildtype="${1:-release}"
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype="$buildtype" >/dev/null
fi
meson compile -C build
