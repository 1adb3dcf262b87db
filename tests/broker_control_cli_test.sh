#!/usr/bin/env bash
# `sluice broker --control`: commands from stdin and from a FIFO, one reply
# line each on stdout, bad lines an error and the broker still serving, exit 0
# on SIGTERM with the FIFO it created removed, a path that is not a FIFO
# refused with usage.
#   tests/broker_control_cli_test.sh SLUICE_BINARY
set -uo pipefail
sluice=$1
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Waits until FILE has at least N lines (up to 30 s).
wait_lines() {
  for _ in $(seq 1 300); do
    [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# stdin: a pipe the test keeps open.
mkfifo "$dir/in"
"$sluice" broker --brokers 2 --control - <"$dir/in" >"$dir/stdin.out" 2>"$dir/stdin.err" &
pids+=($!)
broker=$!
exec 3>"$dir/in"
wait_lines "$dir/stdin.out" 1 || fail "no bootstrap line"
printf '%s\n' "fail-commits 3" "" "# comment" "bogus 1" "rtt 9 100" "leader portfolio.articles 7 1" \
  "leader no.such.topic 0 1" "fail-commits 3 NOT_AN_ERROR" "rtt all 250" "down 2" "up all" \
  "leader portfolio.articles 2 2" "coordinator sluice 1" "clear OffsetCommit" >&3
printf 'x%.0s' $(seq 1 5000) >&3
printf '\nrtt 1 0\n' >&3
wait_lines "$dir/stdin.out" 14 || fail "expected 13 replies, got: $(tail -n +2 "$dir/stdin.out")"
expected='ok: fail OffsetCommit 3 REQUEST_TIMED_OUT
error: unknown command '"'"'bogus'"'"' (help lists the commands)
error: broker (or all): expected an integer 1..2, got '"'"'9'"'"'
error: PARTITION: expected an integer 0..2, got '"'"'7'"'"'
error: unknown topic '"'"'no.such.topic'"'"'
error: unknown Kafka error '"'"'NOT_AN_ERROR'"'"' (a librdkafka error name such as REQUEST_TIMED_OUT, NOT_COORDINATOR, _TRANSPORT, or its number)
ok: rtt all 250
ok: down 2
ok: up all
ok: leader portfolio.articles 2 2
ok: coordinator sluice 1
ok: clear OffsetCommit
error: line longer than 4096 bytes ignored
ok: rtt 1 0'
got=$(tail -n +2 "$dir/stdin.out")
[ "$got" = "$expected" ] || fail "replies differ:
--- expected
$expected
--- got
$got"
# Still a working broker after the bad lines: kcat-free check through loadgen.
bootstrap=$(head -1 "$dir/stdin.out" | sed 's/^bootstrap=//')
"$sluice" loadgen -b "$bootstrap" --rate 0 --count 50 >"$dir/loadgen.log" 2>&1 ||
  fail "loadgen against the broker failed: $(tail -2 "$dir/loadgen.log")"
# End of input leaves the broker running.
exec 3>&-
sleep 0.5
kill -0 "$broker" 2>/dev/null || fail "the broker stopped at the end of its control input"
grep -q "control: end of input" "$dir/stdin.err" || fail "no end-of-input notice on stderr"
kill -TERM "$broker"
wait "$broker"
rc=$?
[ $rc -eq 0 ] || fail "broker exit $rc after SIGTERM (stdin controls)"

# A FIFO the broker creates, written by separate writers, removed at exit.
"$sluice" broker --no-default-topics --topics t:2 --control "$dir/ctl" >"$dir/fifo.out" 2>"$dir/fifo.err" &
pids+=($!)
broker=$!
wait_lines "$dir/fifo.out" 1 || fail "no bootstrap line (FIFO)"
for _ in $(seq 1 100); do [ -p "$dir/ctl" ] && break; sleep 0.1; done
[ -p "$dir/ctl" ] || fail "the control FIFO was not created"
echo "leader t 1 1" >"$dir/ctl"
echo "fail Produce 2 _TRANSPORT" >"$dir/ctl"
echo "leader t 2 1" >"$dir/ctl"
wait_lines "$dir/fifo.out" 4 || fail "expected 3 replies over the FIFO, got: $(cat "$dir/fifo.out")"
got=$(tail -n +2 "$dir/fifo.out")
expected="ok: leader t 1 1
ok: fail Produce 2 _TRANSPORT
error: PARTITION: expected an integer 0..1, got '2'"
[ "$got" = "$expected" ] || fail "FIFO replies differ: $got"
kill -TERM "$broker"
wait "$broker"
rc=$?
[ $rc -eq 0 ] || fail "broker exit $rc after SIGTERM (FIFO controls)"
[ -e "$dir/ctl" ] && fail "the FIFO the broker created is still there"

# A path that exists and is not a FIFO: usage, non-zero, no broker.
touch "$dir/plain"
"$sluice" broker --control "$dir/plain" >"$dir/plain.out" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "--control on a regular file exited 0"
grep -q "exists and is not a FIFO" "$dir/plain.out" || fail "no reason for the refused --control path"
grep -q "Usage:" "$dir/plain.out" || fail "no usage for the refused --control path"
grep -q "bootstrap=" "$dir/plain.out" && fail "a broker started although --control was refused"

if [ $failures -eq 0 ]; then
  echo "broker control: all checks passed"
  exit 0
fi
echo "broker control: $failures failures"
exit 1
