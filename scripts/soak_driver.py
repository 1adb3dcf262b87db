#!/usr/bin/env python3
"""Runs one randomized soak of sluice (started by scripts/soak.sh).

An embedded broker (3 brokers, fault controls on its stdin), seeded load
from `sluice loadgen`, 2-4 `sluice run` members of one group with 8 slots and
file outputs, and a schedule drawn from the seed up front: members joining,
leaving on their own, stopped with SIGTERM, killed with -9; OffsetCommit
failures, partition leader moves, slow brokers, a broker down for seconds.
Then every fault is cleared, the members are stopped, one more member drains
the group, and soak_audit checks every offset. Every wait is bounded; a member
that does not exit in time is killed and reported.
"""
import argparse
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time

EVENT_TYPES = [
    "user.created", "task.updated", "task.completed",
    "article.created", "article.updated", "article.deleted", "article.published", "article.unpublished",
    "project.created", "project.updated", "project.deleted", "project.featured",
    "page.view", "article.view", "project.view", "user.action",
    "email.send", "notification.create", "default",
]
GROUP = "soak"
BROKERS = 3
MIN_MEMBERS, MAX_MEMBERS = 1, 4
SHUTDOWN_TIMEOUT_MS = 10000   # given to members when their sluice knows shutdown.timeout.ms
STOP_GRACE_S = 15             # SIGTERM to exit, else kill -9 and a violation
DRAIN_S = 35                  # the final member's time to catch up
COMMIT_ERRORS = ["REQUEST_TIMED_OUT", "NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE",
                 "COORDINATOR_LOAD_IN_PROGRESS", "_TRANSPORT", "UNKNOWN_MEMBER_ID"]
CRASH_SIGNALS = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL}

started = time.monotonic()
violations = []
children = []


def log(msg):
    print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)


def violation(kind, text):
    violations.append(f"{kind}: {text}")
    log(f"VIOLATION {kind}: {text}")


def spawn(args, logfile, **kw):
    p = subprocess.Popen(args, stdout=logfile, stderr=subprocess.STDOUT, **kw)
    children.append(p)
    return p


def describe(rc):
    if rc is None:
        return "running"
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"exit {rc}"


class Broker:
    """`sluice broker --control -`: commands on stdin, one reply line each on stdout."""

    def __init__(self, sluice, dir):
        self.err = open(os.path.join(dir, "broker.log"), "w")
        self.p = subprocess.Popen([sluice, "broker", "--brokers", str(BROKERS), "--control", "-"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                  text=True, bufsize=1)
        children.append(self.p)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.lines.get(timeout=30)
        if not first.startswith("bootstrap="):
            raise RuntimeError(f"broker said {first!r}")
        self.bootstrap = first.split("=", 1)[1].strip()
        # The topic list is on stderr once the broker is ready.
        deadline = time.monotonic() + 30
        self.partitions = {}
        while time.monotonic() < deadline:
            text = open(self.err.name).read()
            if "embedded broker ready" in text:
                for line in text.splitlines():
                    if line.startswith("topic "):
                        name, parts = line.split()[1], int(line.split("partitions=")[1])
                        self.partitions[name] = parts
                break
            time.sleep(0.1)

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))

    def control(self, command):
        if self.p.poll() is not None:
            violation("broker", f"the broker exited ({describe(self.p.returncode)}) before '{command}'")
            return
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()
        try:
            reply = self.lines.get(timeout=15)
        except queue.Empty:
            violation("broker", f"no reply to '{command}' within 15 s")
            return
        log(f"broker: {command} -> {reply}")
        if not reply.startswith("ok"):
            violation("soak-driver", f"the broker refused '{command}': {reply}")


class Member:
    def __init__(self, n, sluice, dir, bootstrap, extra_args, shutdown_key):
        self.n, self.name = n, f"m{n}"
        self.dir = dir
        self.config = os.path.join(dir, self.name + ".toml")
        with open(self.config, "w") as f:
            f.write(member_config(dir, self.name, bootstrap, shutdown_key))
        self.log = os.path.join(dir, self.name + ".log")
        self.p = spawn([sluice, "run", "--config", self.config] + extra_args, open(self.log, "w"), cwd=dir)
        self.how = "running"       # running, stopping, killed, leaving (its own --duration), draining
        self.deadline = None        # of a SIGTERM
        self.reported = False
        self.exit_ms = None          # wall clock, to match the sampler's samples

    def term(self, grace=STOP_GRACE_S):
        self.p.send_signal(signal.SIGTERM)
        self.grace = grace
        self.how, self.deadline = "stopping", time.monotonic() + grace

    def kill9(self):
        self.p.kill()
        self.how = "killed"

    def check(self):
        """Reports the exit once; kills a member past its SIGTERM deadline."""
        rc = self.p.poll()
        if rc is None:
            if self.deadline is not None and time.monotonic() > self.deadline:
                violation("hang", f"{self.name} did not exit within {self.grace} s of SIGTERM; killed -9 "
                          f"(log {self.log})")
                self.p.kill()
                self.p.wait()
                self.reported = True
                self.exit_ms = int(time.time() * 1000)
            return
        if self.reported:
            return
        self.reported = True
        self.exit_ms = int(time.time() * 1000)
        log(f"{self.name} {self.how}: {describe(rc)}")
        tail = log_tail(self.log)
        if rc < 0 and -rc in CRASH_SIGNALS:
            tail = log_tail(self.log, 1)  # the assertion or sluice's last word
            violation("abort", f"{self.name} ({self.how}) died of {describe(rc)}: {tail}")
        elif self.how == "killed":
            return
        elif "Assertion" in tail or "terminate called" in tail:
            violation("abort", f"{self.name} ({self.how}) {describe(rc)}: {tail}")
        elif self.how == "draining" and rc == 1 and "not caught up: stopped by signal" in tail:
            return  # reported as a drain violation already
        elif self.how == "running":
            violation("exit", f"{self.name} exited unasked ({describe(rc)}): {tail}")
        elif rc not in (0, 75):
            violation("exit", f"{self.name} ({self.how}) {describe(rc)}, expected 0 or 75: {tail}")


def log_tail(path, lines=3):
    """The last lines of a log that are sluice's own (librdkafka's start with %), or any."""
    try:
        with open(path, errors="replace") as f:
            text = f.read().strip().splitlines()
    except OSError:
        return ""
    own = [line for line in text if not line.startswith("%")]
    return " | ".join((own or text)[-lines:])


def member_config(dir, name, bootstrap, shutdown_key):
    routes = "\n".join(f'"{t}" = ["enrichment", "notification", "analytics"]' for t in EVENT_TYPES)
    shutdown = f"[shutdown]\ntimeout.ms = {SHUTDOWN_TIMEOUT_MS}\n" if shutdown_key else ""
    return f"""# soak member {name}
[kafka]
bootstrap.servers = "{bootstrap}"
group.id = "{GROUP}"
[kafka.properties]
"session.timeout.ms" = 6000
"heartbeat.interval.ms" = 500
[pipeline]
ring.size = 8
[commit]
interval.ms = 100
[stats]
socket = ""
[run]
progress = false
{shutdown}[sinks.enrichment]
output = "file:{dir}/{name}.enriched.jsonl"
[sinks.notification]
output = "file:{dir}/{name}.notification.jsonl"
[sinks.analytics]
output = "file:{dir}/{name}.analytics.jsonl"
window.ms = 2000
# Every event type reaches every sink: each offset leaves an enrichment record
# naming it, and its ack waits for three outputs.
[routing]
{routes}
"""


def supports_shutdown_timeout(sluice, dir, bootstrap):
    """Whether this sluice takes shutdown.timeout.ms (an unknown key is a config error)."""
    cfg = os.path.join(dir, "probe.toml")
    with open(cfg, "w") as f:
        f.write(f'[kafka]\nbootstrap.servers = "{bootstrap}"\ngroup.id = "soak-probe"\n[stats]\nsocket = ""\n'
                f'[run]\nprogress = false\n[sinks.enrichment]\noutput = "none"\ndirectory.topic = ""\n'
                f'[sinks.notification]\noutput = "none"\n[sinks.analytics]\noutput = "none"\n'
                f'[shutdown]\ntimeout.ms = {SHUTDOWN_TIMEOUT_MS}\n')
    try:
        r = subprocess.run([sluice, "run", "--config", cfg, "--source", "replay:/dev/null"],
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return "shutdown.timeout.ms" not in (r.stdout + r.stderr)


def schedule(rng, seconds, partitions):
    """The whole run's actions, drawn from the seed before anything starts: (time, action, argument)."""
    topics = sorted(t for t in partitions if t in SOURCE_TOPICS)
    events = [(0.0, "join", None), (0.5, "join", None)]
    alive = 2
    leaving = []  # when members started with --duration leave
    down_until = 0.0
    t = 4.0
    kinds = ["join", "join-timed", "term", "kill9", "fail-commits", "leader", "rtt", "down"]
    weights = [3, 1, 3, 2, 3, 2, 2, 1]
    while True:
        t += rng.uniform(0.8, 3.0)
        if t > seconds - 2:
            break
        alive -= sum(1 for end in leaving if end <= t)
        leaving = [end for end in leaving if end > t]
        kind = rng.choices(kinds, weights)[0]
        if kind in ("join", "join-timed") and alive >= MAX_MEMBERS:
            kind = "term"
        if kind in ("term", "kill9") and alive <= MIN_MEMBERS:
            kind = "join"
        if kind == "down" and t < down_until:
            kind = "rtt"
        if kind == "join":
            alive += 1
            events.append((t, "join", None))
        elif kind == "join-timed":
            # Leaves by itself after a while (plus about 3 s to start and join).
            alive += 1
            duration = round(rng.uniform(3, 12), 1)
            leaving.append(t + duration + 3)
            events.append((t, "join-timed", duration))
        elif kind in ("term", "kill9"):
            alive -= 1
            events.append((t, kind, rng.random()))  # which of the running members, drawn now
        elif kind == "fail-commits":
            events.append((t, "control", f"fail-commits {rng.randint(1, 30)} {rng.choice(COMMIT_ERRORS)}"))
        elif kind == "leader":
            topic = rng.choice(topics)
            events.append((t, "control",
                           f"leader {topic} {rng.randrange(partitions[topic])} {rng.randint(1, BROKERS)}"))
        elif kind == "rtt":
            broker, ms, hold = rng.randint(1, BROKERS), rng.choice([50, 200, 500, 1000, 2000]), rng.uniform(1, 6)
            events.append((t, "control", f"rtt {broker} {ms}"))
            events.append((min(t + hold, seconds - 1), "control", f"rtt {broker} 0"))
        elif kind == "down":
            broker, hold = rng.randint(1, BROKERS), rng.uniform(0.5, 3)
            down_until = t + hold + 1
            events.append((t, "control", f"down {broker}"))
            events.append((min(t + hold, seconds - 1), "control", f"up {broker}"))
    events.sort(key=lambda e: e[0])
    return events


SOURCE_TOPICS = ["portfolio.articles", "portfolio.projects", "portfolio.analytics", "portfolio.notifications",
                 "user.created", "task.updated", "task.completed"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--sampler", required=True)
    ap.add_argument("--audit", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(a, rng)
    finally:
        for p in children:
            if p.poll() is None:
                p.kill()
                p.wait()


def run(a, rng):
    broker = Broker(a.sluice, a.dir)
    log(f"broker {broker.bootstrap}, {sum(broker.partitions.get(t, 0) for t in SOURCE_TOPICS)} source partitions")
    shutdown_key = supports_shutdown_timeout(a.sluice, a.dir, broker.bootstrap)
    log(f"shutdown.timeout.ms {'set to ' + str(SHUTDOWN_TIMEOUT_MS) if shutdown_key else 'not known to this sluice'}")
    plan = schedule(rng, a.seconds, broker.partitions)
    with open(os.path.join(a.dir, "schedule.txt"), "w") as f:
        for t, kind, arg in plan:
            f.write(f"{t:6.1f} {kind} {'' if arg is None else arg}\n")
    log(f"schedule: {len(plan)} actions (schedule.txt)")

    # Below what 2-4 members with 8 slots keep up with on a busy 2-core machine
    # (about 800 events/s for one), and far below the broker's retention
    # (about 5 MiB per partition): at most 100 000 events in all.
    load_s = max(5, int(a.seconds * 0.8))
    rate = min(400, 100000 // load_s)
    loadgen = spawn([a.sluice, "loadgen", "-b", broker.bootstrap, "--rate", str(rate), "--duration", str(load_s),
                     "--seed", str(a.seed % 1000000 + 1)], open(os.path.join(a.dir, "loadgen.log"), "w"))
    samples = os.path.join(a.dir, "samples.txt")
    sampler = spawn([a.sampler, broker.bootstrap, GROUP, ",".join(SOURCE_TOPICS), a.dir, samples, "200"],
                    open(os.path.join(a.dir, "sampler.log"), "w"))

    members = []
    counts = {}
    t0 = time.monotonic()
    for at, kind, arg in plan:
        while time.monotonic() - t0 < at:
            for m in members:
                m.check()
            time.sleep(0.05)
        counts[kind if kind != "control" else arg.split()[0]] = counts.get(
            kind if kind != "control" else arg.split()[0], 0) + 1
        running = [m for m in members if m.how in ("running", "leaving") and m.p.poll() is None]
        if kind in ("join", "join-timed"):
            extra = ["--duration", str(arg)] if kind == "join-timed" else []
            m = Member(len(members) + 1, a.sluice, a.dir, broker.bootstrap, extra, shutdown_key)
            if kind == "join-timed":
                m.how = "leaving"
            members.append(m)
            log(f"{m.name} joins{f' for {arg} s' if extra else ''}")
        elif kind in ("term", "kill9"):
            if not running:
                log(f"{kind}: no running member")
                continue
            victim = running[int(arg * len(running))]
            log(f"{victim.name} {'SIGTERM' if kind == 'term' else 'kill -9'}")
            victim.term() if kind == "term" else victim.kill9()
        else:
            broker.control(arg)
    while time.monotonic() - t0 < a.seconds:
        for m in members:
            m.check()
        time.sleep(0.05)

    log("churn over: faults cleared, members stopped")
    for c in ("rtt all 0", "up all", "clear OffsetCommit"):
        broker.control(c)
    try:
        loadgen.wait(timeout=max(1, load_s - (time.monotonic() - t0)) + 15)
        if loadgen.returncode != 0:
            log(f"loadgen {describe(loadgen.returncode)} (some events not produced; the audit covers what is in "
                f"the topics): {log_tail(os.path.join(a.dir, 'loadgen.log'))}")
    except subprocess.TimeoutExpired:
        log("loadgen did not finish; killed")
        loadgen.kill()
    for m in members:
        if m.p.poll() is None and m.how in ("running", "leaving"):
            m.term()
    while any(m.p.poll() is None for m in members):
        for m in members:
            m.check()
        time.sleep(0.05)
    for m in members:
        m.check()

    log("drain: one member until caught up")
    drain = Member(len(members) + 1, a.sluice, a.dir, broker.bootstrap, ["--until-caught-up"], shutdown_key)
    drain.how = "draining"
    drain_deadline = time.monotonic() + DRAIN_S
    while drain.p.poll() is None and time.monotonic() < drain_deadline:
        time.sleep(0.1)
    if drain.p.poll() is None:
        violation("drain", f"{drain.name} did not catch up within {DRAIN_S} s")
        drain.term(grace=10)
        drain.how = "draining"
        while drain.p.poll() is None or not drain.reported:
            drain.check()
            time.sleep(0.05)
    drain.check()
    members.append(drain)

    sampler.send_signal(signal.SIGTERM)
    try:
        sampler.wait(timeout=5)
    except subprocess.TimeoutExpired:
        sampler.kill()
    log(f"sampler: {log_tail(os.path.join(a.dir, 'sampler.log'), 1)}")

    exits = os.path.join(a.dir, "exits.txt")
    with open(exits, "w") as f:
        for m in members:
            if m.exit_ms is not None:
                f.write(f"{m.name} {m.how} {m.p.returncode} {m.exit_ms}\n")
    # Faults are cleared before the drain, so its final commit must reach the end offsets either way.
    audit_args = [a.audit, broker.bootstrap, GROUP, ",".join(SOURCE_TOPICS), a.dir, samples, "--exits", exits,
                  "--committed-to-end"]
    try:
        audit = subprocess.run(audit_args, capture_output=True, text=True, timeout=40)
        print(audit.stdout, end="", flush=True)
        if audit.stderr:
            print(audit.stderr, end="", file=sys.stderr, flush=True)
        audit_ok = audit.returncode == 0
    except subprocess.TimeoutExpired:
        print("soak audit: did not finish within 40 s")
        audit_ok = False

    broker.p.send_signal(signal.SIGTERM)
    try:
        broker.p.wait(timeout=10)
        if broker.p.returncode != 0:
            violation("broker", f"the broker {describe(broker.p.returncode)} at SIGTERM: {log_tail(broker.err.name)}")
    except subprocess.TimeoutExpired:
        violation("broker", "the broker did not stop within 10 s of SIGTERM")
    cores = [f for f in os.listdir(a.dir) if f.startswith("core")]
    if cores:
        violation("core", f"core files in {a.dir}: {cores}")

    exits = {}
    for m in members:
        key = f"{m.how} {describe(m.p.returncode)}"
        exits[key] = exits.get(key, 0) + 1
    print(f"soak: seed {a.seed}, {a.seconds} s, {len(members)} members; actions: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("soak: member exits: " + ", ".join(f"{k}: {v}" for k, v in sorted(exits.items())))
    if violations:
        print(f"soak: {len(violations)} process violations:")
        for v in violations:
            print(f"  VIOLATION {v}")
    return 0 if audit_ok and not violations else 1


if __name__ == "__main__":
    sys.exit(main())
