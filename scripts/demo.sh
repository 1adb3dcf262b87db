#!/usr/bin/env bash
# Sets everything up and runs sluice on its embedded default: the embedded
# broker in-process, the built-in load generator, all three sinks, a live
# progress line. Stops on Ctrl-C; extra arguments go to `sluice run`
# (for example --duration 30).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: installing what is missing and building (first run takes a few minutes)..." >&2
scripts/setup.sh >&2
exec build/app/sluice run --config config/demo.toml "$@"
