#!/usr/bin/env bash
# Runs each libFuzzer target (decoder, stats_session, config) for SECONDS
# (default 20) from the seed corpus in tests/fuzz/corpus (plus tests/hostile
# for the decoder and config/ for the config loader). New inputs go to
# build-sanitize/fuzz-corpus/NAME; a crash leaves its input in
# build-sanitize/fuzz-artifacts/ and makes this exit non-zero.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("${@:-decoder stats_session config}")
scripts/sanitize-setup.sh sanitize || exit 1
# shellcheck disable=SC2206
targets=(${targets[*]})
# shellcheck disable=SC2046
ninja -C build-sanitize $(printf 'tests/fuzz/%s_fuzz ' "${targets[@]}") >/dev/null || exit 1
status=0
for t in "${targets[@]}"; do
  seeds=(tests/fuzz/corpus/"$t")
  [ "$t" = decoder ] && seeds+=(tests/hostile)
  [ "$t" = config ] && seeds+=(config)
  work="build-sanitize/fuzz-corpus/$t"
  mkdir -p "$work" build-sanitize/fuzz-artifacts
  log="build-sanitize/fuzz-$t.log"
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "build-sanitize/tests/fuzz/${t}_fuzz" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build-sanitize/fuzz-artifacts/"$t"- "$work" "${seeds[@]}" >"$log" 2>&1; then
    echo "fuzz $t: $(grep -o 'Done [0-9]* runs' "$log" | tail -1 | cut -d' ' -f2) runs in ${seconds} s, no failure"
  else
    echo "fuzz $t: FAILED (see $log)"
    grep -E "ERROR|SUMMARY|runtime error" "$log" | head -5
    status=1
  fi
done
exit $status
