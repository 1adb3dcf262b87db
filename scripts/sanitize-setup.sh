#!/usr/bin/env bash
# Configures the sanitizer builds (packages come from scripts/setup.sh):
#   build-sanitize  clang, AddressSanitizer + UndefinedBehaviorSanitizer, the
#                   engine instrumented for libFuzzer coverage, fuzz targets;
#   build-tsan      gcc, ThreadSanitizer.
# Usage: scripts/sanitize-setup.sh [sanitize|tsan]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
for which in "${@:-sanitize tsan}"; do
  for b in $which; do
    case "$b" in
      sanitize)
        [ -f build-sanitize/build.ninja ] ||
          CXX=clang++ meson setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false \
            -Doptimization=1 -Ddebug=false -Dcpp_args='-fsanitize=fuzzer-no-link -gline-tables-only' >/dev/null ;;
      tsan)
        [ -f build-tsan/build.ninja ] ||
          meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null ;;
      *) echo "usage: $0 [sanitize|tsan]..." >&2; exit 2 ;;
    esac
  done
done
