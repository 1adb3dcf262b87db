#!/usr/bin/env bash
# The systemd units as installed: `meson install` into a staging root
# (DESTDIR), then `systemd-analyze verify` (ExecStart exists, directives
# valid) and `systemd-analyze security --offline=yes` on them. There is no
# systemd PID 1 here: the staging root gets the host's own system units
# (targets) and /bin/kill so that verify resolves them as on a real host.
set -euo pipefail
build="$1"
stage=$(mktemp -d /tmp/sluice-units-XXXXXX)
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$stage" --no-rebuild --quiet > "$stage.log" 2>&1 || { cat "$stage.log"; fail "meson install"; }
rm -f "$stage.log"
prefix=$(meson introspect "$build" --buildoptions | grep -o '"name": "prefix", "value": "[^"]*"' | sed 's/.*"value": "//; s/"$//')
[ -n "$prefix" ] || prefix=/usr/local
bin="$stage$prefix/bin/sluice"
units=$(find "$stage" -name 'sluice.service' -printf '%h\n')
[ -x "$bin" ] || fail "meson install did not install the binary ($bin)"
[ -n "$units" ] && [ -f "$units/sluice@.service" ] || fail "meson install did not install both units"
config=$(find "$stage" -path '*/sluice/sluice.toml')
[ -n "$config" ] || fail "meson install did not install the example configuration"
"$bin" check --config "$config" > /dev/null || fail "the installed example configuration does not pass check"

mkdir -p "$stage/lib/systemd" "$stage/bin"
cp -a /lib/systemd/system "$stage/lib/systemd/"
cp /bin/kill "$stage/bin/kill"
unit_rel=${units#"$stage"}

verify() { systemd-analyze verify --man=no --root="$stage" "$@" 2>&1; }
out=$(verify "$units/sluice.service") || fail "verify sluice.service: $out"
[ -z "$out" ] || fail "verify sluice.service warned: $out"
out=$(verify sluice@demo.service) || fail "verify sluice@demo.service: $out"
[ -z "$out" ] || fail "verify sluice@demo.service warned: $out"
grep -q "^ExecStart=$prefix/bin/sluice run --config $prefix/etc/sluice/%i.toml --set stats.socket=/run/sluice/%i/stats.sock$" \
    "$units/sluice@.service" || fail "template ExecStart: $(grep ExecStart "$units/sluice@.service")"
grep -qx "RuntimeDirectory=sluice/%i" "$units/sluice@.service" || fail "template RuntimeDirectory"

# verify does fail: without the binary, and on a bad directive value.
mv "$bin" "$bin.away"
out=$(verify sluice@demo.service) && fail "verify passed without the binary"
echo "$out" | grep -q "Command $prefix/bin/sluice is not executable" || fail "verify without the binary said: $out"
mv "$bin.away" "$bin"
sed 's/^Type=notify$/Type=notifyy/' "$units/sluice.service" > "$units/broken.service"
# (a bad value is a warning, which the checks above treat as failure)
out=$(verify "$units/broken.service") || true
echo "$out" | grep -q "Failed to parse service type, ignoring: notifyy" || fail "verify of Type=notifyy said: $out"
rm "$units/broken.service"

# What the issue asks of the units, as systemd reads them.
for u in sluice.service sluice@demo.service; do
    show=$(systemd-analyze security --offline=yes --root="$stage" "$u" 2>&1) || fail "security $u: $show"
    echo "$show" | grep -q "Overall exposure level for $u: [0-2]\.[0-9] OK" ||
        fail "exposure of $u: $(echo "$show" | tail -1)"
    systemd-analyze security --offline=yes --root="$stage" --threshold=20 "$u" > /dev/null ||
        fail "security $u above threshold 20"
done
for key in "Type=notify" "NotifyAccess=main" "WatchdogSec=120" "TimeoutStopSec=90" "RestartPreventExitStatus=64 78" \
           "LimitMEMLOCK=infinity" "ExecReload=/bin/kill -HUP \$MAINPID"; do
    grep -qxF "$key" "$units/sluice.service" || fail "sluice.service lacks $key"
done

# The seccomp filter keeps what sluice needs: io_uring (stats server, file
# outputs) allowed, and nothing it needs in an excluded group.
grep -q '^SystemCallFilter=@system-service io_uring_setup io_uring_enter io_uring_register$' "$units/sluice.service" ||
    fail "io_uring calls not allowed"
excluded=$(grep '^SystemCallFilter=~' "$units/sluice.service" | sed 's/^SystemCallFilter=~//')
for group in $excluded; do
    calls=$(systemd-analyze syscall-filter "$group" | grep -v '^[@#]' | tr -d ' ')
    for needed in io_uring_setup io_uring_enter io_uring_register sched_setaffinity mmap futex epoll_wait; do
        echo "$calls" | grep -qx "$needed" && fail "$needed is in excluded group $group"
    done
done
echo "systemd units: all checks passed"
