#!/usr/bin/env python3
"""`sluice loadgen` schedules, checked with kcat against the embedded broker.

Each event's Kafka timestamp and envelope timestamp are its due time on the
schedule (coordinated-omission correct), so the timestamps kcat reads follow
the schedule to the millisecond however late the sends were; the counts
follow the profile; the report says offered and achieved; bad schedules exit
64 with a message. Usage: loadgen_test.py SLUICE
"""
import datetime
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import fail, finish, processes, wait_for_output, work_dir  # noqa: E402

sluice = sys.argv[1]


def loadgen(bootstrap, topic, *args):
    return subprocess.run([sluice, "loadgen", "-b", bootstrap, "--topic", topic, "-X", "linger.ms=1", *args],
                          capture_output=True, text=True, timeout=120)


def timestamps(bootstrap, topic):
    """(Kafka timestamp ms, envelope timestamp ms) of every event, by Kafka timestamp."""
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", "%T\t%s\n"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = []
    for line in out.splitlines():
        kafka_ts, payload = line.split("\t", 1)
        env = re.search(r'"timestamp":"([^"]+)"', payload).group(1)
        env_ms = int(datetime.datetime.fromisoformat(env).timestamp() * 1000 + 0.5)
        rows.append((int(kafka_ts), env_ms))
    return sorted(rows)


def check_schedule(name, rows, expected_offsets_ms):
    if len(rows) != len(expected_offsets_ms):
        fail(f"{name}: {len(rows)} events, the schedule has {len(expected_offsets_ms)}")
        return
    t0 = rows[0][0]
    worst = 0
    for (kafka_ms, env_ms), due in zip(rows, expected_offsets_ms):
        if kafka_ms != env_ms:
            fail(f"{name}: Kafka timestamp {kafka_ms} but envelope {env_ms}")
            return
        # Both truncated to ms: within 1 ms of the schedule.
        worst = max(worst, abs((kafka_ms - t0) - due))
    if worst > 1.0 + 1e-9:
        fail(f"{name}: a timestamp {worst:.1f} ms off its due time")
    print(f"{name}: {len(rows)} events, timestamps within {worst:.1f} ms of the schedule")


def report(name, r, sent, offered_rate, offered_events):
    if r.returncode != 0:
        fail(f"{name}: exit {r.returncode}: {r.stdout} {r.stderr}")
        return
    if f"sent {sent} events" not in r.stdout or f"delivered {sent}, failed 0" not in r.stdout:
        fail(f"{name}: report: {r.stdout}")
    m = re.search(r"offered (\d+) events/s \((\d+) events over [\d.]+ s\), achieved (\d+) events/s sent", r.stdout)
    if not m or int(m.group(2)) != offered_events or abs(int(m.group(1)) - offered_rate) > 1:
        fail(f"{name}: expected offered {offered_rate}/s ({offered_events} events): {r.stdout}")
    for line in ("behind schedule: p50 ", "delivery latency (send to broker ack): p50 "):
        if line not in r.stdout:
            fail(f"{name}: no '{line}' in {r.stdout}")
    if not re.search(r"behind schedule: p50 [\d.]+ ms, p99 [\d.]+ ms, p99.9 [\d.]+ ms, max [\d.]+ ms", r.stdout):
        fail(f"{name}: behind-schedule line: {r.stdout}")


def main():
    with work_dir("sluice-loadgen-") as work, processes(30) as procs:
        procs.append(subprocess.Popen([sluice, "broker", "--no-default-topics", "--topics",
                                       "steps:3,ramp:3,profile:3,burst:3"],
                                      stdout=open(os.path.join(work, "broker.out"), "w"), stderr=subprocess.STDOUT))
        bootstrap = wait_for_output(os.path.join(work, "broker.out"), r"^bootstrap=(\S+)", 100, re.M)
        if not bootstrap:
            fail("sluice broker printed no bootstrap line")
            return

        # Steps: 100/s for 1 s, then 200/s for 1 s.
        r = loadgen(bootstrap, "steps", "--rate", "100,200", "--step-duration", "1", "--seed", "3")
        report("steps", r, 300, 150, 300)
        check_schedule("steps", timestamps(bootstrap, "steps"),
                       [i * 10.0 for i in range(100)] + [1000 + i * 5.0 for i in range(200)])

        # A ramp 0 -> 400/s over 1 s: N(t) = 200 t^2, event n due at sqrt(n / 200) s.
        r = loadgen(bootstrap, "ramp", "--rate", "0..400", "--duration", "1")
        report("ramp", r, 200, 200, 200)
        check_schedule("ramp", timestamps(bootstrap, "ramp"), [1000 * (n / 200) ** 0.5 for n in range(200)])

        # A profile: 100/s for 1 s, a step to 300/s for 0.5 s.
        profile = os.path.join(work, "profile.txt")
        with open(profile, "w") as f:
            f.write("# seconds rate\n0 100\n1 100\n1 300\n1.5 300\n")
        r = loadgen(bootstrap, "profile", "--profile", profile)
        report("profile", r, 250, 167, 250)
        check_schedule("profile", timestamps(bootstrap, "profile"),
                       [i * 10.0 for i in range(100)] + [1000 + i * 1000 / 300 for i in range(150)])

        # Far more than the generator can send: it falls behind, yet every
        # event carries its due time (20000 events due within 20 ms).
        r = loadgen(bootstrap, "burst", "--rate", "1000000", "--count", "20000")
        report("burst", r, 20000, 1000000, 20000)
        rows = timestamps(bootstrap, "burst")
        span = rows[-1][0] - rows[0][0] if rows else -1
        if len(rows) != 20000 or span > 20:
            fail(f"burst: {len(rows)} events over {span} ms of timestamps, expected 20000 within 20 ms")
        m = re.search(r"behind schedule: .* max ([\d.]+) ms", r.stdout)
        print(f"burst: timestamps span {span} ms; behind schedule max {m and m.group(1)} ms")

        # Bad schedules: a message and exit 64.
        for args, message in ((["--rate", "1,2", "--count", "5"], "--rate A,B,C: steps need --step-duration"),
                              (["--rate", "fast", "--count", "5"], "--rate: expected a non-negative number, got 'fast'"),
                              (["--rate", "5..9", "--count", "5"], "--rate A..B: a ramp needs --duration"),
                              (["--rate", "5"], "one of --count, --duration, steps or --profile is required")):
            r = loadgen(bootstrap, "steps", *args)
            if r.returncode != 64 or message not in r.stderr:
                fail(f"{args}: exit {r.returncode}, stderr {r.stderr!r}")


main()
finish()
