#!/usr/bin/env bash
# The command line through the real binary: --version, usage errors (64),
# `sluice check` on good and bad files (0 / 78 naming the key), secrets from
# the environment and from files, always redacted.
set -euo pipefail
sluice="$1"
config_dir="$2"   # config/: the shipped examples must pass `check`
work=$(mktemp -d /tmp/sluice-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect RC TEXT command...: exit code RC and TEXT in stdout+stderr.
expect() {
    local want_rc="$1" want="$2" rc=0
    shift 2
    "$@" > "$work/out" 2>&1 || rc=$?
    [ "$rc" -eq "$want_rc" ] || fail "'$*' exited $rc, not $want_rc: $(head -3 "$work/out")"
    grep -qF -- "$want" "$work/out" || fail "'$*' did not say '$want': $(head -5 "$work/out")"
}

# --version: the versions of the libraries as they report themselves.
"$sluice" --version > "$work/version"
grep -qE '^sluice [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]+' "$work/version" || fail "version line: $(head -1 "$work/version")"
grep -qx "librdkafka $(pkg-config --modversion rdkafka)" "$work/version" || fail "librdkafka: $(cat "$work/version")"
grep -qx "simdjson $(pkg-config --modversion simdjson) (kernel .*)" "$work/version" || fail "simdjson: $(cat "$work/version")"
grep -qx "liburing $(pkg-config --modversion liburing)" "$work/version" || fail "liburing: $(cat "$work/version")"
grep -q '^cpu features .*(-march=' "$work/version" || fail "cpu features: $(cat "$work/version")"

# Usage errors: 64, naming what was wrong, with the usage.
expect 64 "unknown subcommand 'frobnicate'" "$sluice" frobnicate
expect 64 "Usage: sluice" "$sluice" frobnicate
expect 64 "--frob" "$sluice" run --frob
expect 64 "Usage: sluice run" "$sluice" run --frob
expect 64 "A subcommand is required" "$sluice"
expect 64 "check: --config FILE is required" "$sluice" check
expect 64 "one of --count, --duration, steps or --profile is required" "$sluice" loadgen -b localhost:1
expect 0 "Usage: sluice" "$sluice" --help

# check: the shipped examples are valid, and what check prints reads back
# to the same configuration.
for f in "$config_dir"/*.toml; do
    "$sluice" check --config "$f" > "$work/effective.toml" || fail "check $f"
    head -1 "$work/effective.toml" | grep -qF "# sluice check: $f is valid" || fail "check $f: $(head -1 "$work/effective.toml")"
    "$sluice" check --config "$work/effective.toml" > "$work/again.toml" || fail "check of check's output of $f"
    diff <(tail -n +2 "$work/effective.toml") <(tail -n +2 "$work/again.toml") > /dev/null ||
        fail "check's output of $f does not read back the same"
done
"$sluice" check --config "$config_dir/demo.toml" --set commit.interval.ms=321 > "$work/out"
grep -qx "interval.ms = 321" "$work/out" || fail "--set not applied in check"
grep -qx 'level = "info"' "$work/out" || fail "log.level default not shown"

# Bad configuration: 78 naming the key, in check and in run alike.
printf '[commit]\ninterval.ms = "soon"\n' > "$work/bad_type.toml"
expect 78 "config: commit.interval.ms: expected an integer, got a string ($work/bad_type.toml:2)" \
    "$sluice" check --config "$work/bad_type.toml"
expect 78 "config: commit.interval.ms: expected an integer" "$sluice" run --config "$work/bad_type.toml"
printf '[comit]\ninterval.ms = 5\n' > "$work/unknown.toml"
expect 78 "config: unknown key 'comit.interval.ms' ($work/unknown.toml:2)" "$sluice" check --config "$work/unknown.toml"
printf '[kafka\n' > "$work/syntax.toml"
expect 78 "config: $work/syntax.toml:1:" "$sluice" check --config "$work/syntax.toml"
expect 78 "config: log.level: expected debug, info, warning or error (got 'loud')" \
    "$sluice" check --config "$config_dir/demo.toml" --set log.level=loud
expect 78 "config: log.format: expected text or json" "$sluice" check --config "$config_dir/demo.toml" --set log.format=xml
# librdkafka's own checks: a property it does not know, a value it refuses,
# and a combination it refuses when the handle is built.
expect 78 "kafka property no.such.property=1: No such configuration property" \
    "$sluice" check --config "$config_dir/demo.toml" --set kafka.properties.no.such.property=1
expect 78 "kafka property fetch.wait.max.ms=-5:" \
    "$sluice" check --config "$config_dir/demo.toml" --set kafka.properties.fetch.wait.max.ms=-5
expect 78 '`fetch.max.bytes` must be >= `message.max.bytes`' \
    "$sluice" check --config "$config_dir/demo.toml" --set kafka.properties.fetch.max.bytes=1000 \
    --set kafka.properties.message.max.bytes=100000
expect 78 "kafka property no.such.property=1" "$sluice" run --config "$config_dir/demo.toml" \
    --set kafka.properties.no.such.property=1 --duration 1

# stats.http may leave loopback, with a warning in the log.
: > "$work/empty.ndjson"
expect 0 "warning stats: stats.http 0.0.0.0:0 is not a loopback address" "$sluice" run \
    --source "replay:$work/empty.ndjson" --set 'stats.http="0.0.0.0:0"' --set 'stats.socket=""' --set run.progress=false
expect 78 "config: stats.http: expected host:port such as 127.0.0.1:9464" "$sluice" check --set 'stats.http="0.0.0.0"' \
    --config "$config_dir/demo.toml"

# pipeline.sinks = "auto" (the default) on one CPU: inline, and the log says
# why. A thread setting of a sink with inline sinks: 78 naming the key.
cpu=$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//')  # the first CPU this shell may use
expect 0 'info pipeline: sinks run inline on the source thread (pipeline.sinks = "auto": 1 usable CPUs for 5 roles)' \
    taskset -c "$cpu" "$sluice" run --source "replay:$work/empty.ndjson" --set 'stats.socket=""' --set run.progress=false
"$sluice" run --source "replay:$work/empty.ndjson" --set 'stats.socket=""' --set run.progress=false \
    --set pipeline.sinks=threads > "$work/out" 2>&1 || fail "run with threads: $(head -3 "$work/out")"
grep -q "sinks run" "$work/out" && fail "an explicit placement is not announced as auto's choice: $(grep "sinks run" "$work/out")"
expect 78 'config: threads.enrichment.cpus: sink enrichment has no thread with pipeline.sinks = "inline"' \
    "$sluice" run --source "replay:$work/empty.ndjson" --set pipeline.sinks=inline --set 'threads.enrichment.cpus=[0]'
expect 78 "config: pipeline.sinks: expected" "$sluice" run --set pipeline.sinks=fibers --duration 1

# Secrets: from the file, the environment or a file named by a _file key;
# check prints them redacted, and an error about one never shows its value.
cat > "$work/secrets.toml" <<TOML
[kafka.properties]
"security.protocol" = "sasl_plaintext"
"sasl.mechanisms" = "PLAIN"
"sasl.username" = "svc"
"sasl.password" = "in-file-s3cret"
[kafka.producer.properties]
"sasl.password" = "\${SLUICE_TEST_PASSWORD}"
"ssl.key.password_file" = "$work/key_password"
TOML
printf 'from-file-s3cret\n' > "$work/key_password"
SLUICE_TEST_PASSWORD=env-s3cret "$sluice" check --config "$work/secrets.toml" > "$work/out" 2>&1 ||
    fail "check with secrets: $(cat "$work/out")"
grep -q "s3cret" "$work/out" && fail "check printed a secret: $(grep s3cret "$work/out")"
[ "$(grep -c '= "(redacted)"' "$work/out")" -eq 3 ] || fail "secrets not redacted: $(grep -i pass "$work/out")"
grep -qx '"sasl.username" = "svc"' "$work/out" || fail "a non-secret property was redacted"
expect 78 "config: kafka.producer.properties.sasl.password: environment variable 'SLUICE_TEST_PASSWORD' is not set" \
    env -u SLUICE_TEST_PASSWORD "$sluice" check --config "$work/secrets.toml"
rm "$work/key_password"
expect 78 "config: kafka.producer.properties.ssl.key.password_file: cannot read file '$work/key_password'" \
    env SLUICE_TEST_PASSWORD=x "$sluice" check --config "$work/secrets.toml"
# librdkafka refusing a secret property's value: the value is not printed.
expect 78 "kafka property sasl.oauthbearer.client.secret=(redacted)" \
    "$sluice" check --config "$config_dir/demo.toml" --set kafka.properties.sasl.oauthbearer.client.secret=s3cret \
    --set kafka.properties.sasl.oauthbearer.method=nonsense
grep -q "s3cret" "$work/out" && fail "an error printed a secret"

# Topics: check --connect and run ask the brokers (here `sluice broker` with
# only the topics named) whether output, dead-letter and directory topics exist.
"$sluice" broker --no-default-topics --topics out:1,a:2,a.dlq:2,users:1 > "$work/broker.out" 2> "$work/broker.err" &
broker_pid=$!
trap 'kill $broker_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[ -n "$bootstrap" ] || fail "sluice broker did not start: $(cat "$work/broker.err")"
topics=(--set "kafka.bootstrap.servers=\"$bootstrap\"" --set 'kafka.topics=["a"]'
        --set 'sinks.enrichment.directory.topic="users"' --set 'sinks.enrichment.output="kafka:out"'
        --set 'sinks.notification.output="none"' --set 'sinks.analytics.output="none"')
expect 0 "is valid and its topics exist with leaders" "$sluice" check --connect "${topics[@]}" --config "$config_dir/demo.toml"
expect 78 "config: sinks.enrichment.output: topic 'missing' does not exist on $bootstrap" \
    "$sluice" check --connect --config "$config_dir/demo.toml" "${topics[@]}" --set 'sinks.enrichment.output="kafka:missing"'
expect 78 "config: kafka.dlq.suffix (dead letters of b): topic 'b.dlq' does not exist" \
    "$sluice" check --connect --config "$config_dir/demo.toml" "${topics[@]}" --set 'kafka.topics=["a","b"]'
expect 78 "config: sinks.enrichment.directory.topic: topic 'people' does not exist" \
    "$sluice" check --connect --config "$config_dir/demo.toml" "${topics[@]}" --set 'sinks.enrichment.directory.topic="people"'
expect 78 "config: sinks.enrichment.output: topic 'missing' does not exist on $bootstrap" \
    "$sluice" run --config "$config_dir/demo.toml" "${topics[@]}" --set 'sinks.enrichment.output="kafka:missing"' \
    --set 'stats.socket=""' --set 'stats.http=""' --set loadgen.rate=0 --duration 5
kill $broker_pid; wait $broker_pid 2>/dev/null || true

# -X list: librdkafka's property table, as kcat -X list prints it.
"$sluice" check -X list > "$work/out"
grep -q "^bootstrap.servers" "$work/out" || fail "-X list has no bootstrap.servers"
expect 64 "-X" "$sluice" check -X bogus

echo "cli: all checks passed"
