#!/usr/bin/env python3
"""`sluice stats --hdr-log` read by HdrHistogram's own Java reader.

Runs sluice with a fixed amount of built-in load, logs every stage's interval
histograms with `sluice stats --hdr-log`, stops the log once the load is
done, then reads the file with HistogramLogReader (libhdrhistogram-java) and
checks, per stage, that the merged intervals hold the count and percentiles
that `hist NAME` answers. Usage: hdr_log_test.py SLUICE DEMO_TOML JAVA_SOURCE
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import NO_SINK_OUTPUT, fail, finish, processes, work_dir  # noqa: E402

sluice, demo_toml, java_source = sys.argv[1:4]
JAR = "/usr/share/java/hdrhistogram.jar"
EVENTS = 6000


def ask(sock, command):
    return subprocess.run([sluice, "stats", "--socket", sock, "--raw", command], capture_output=True,
                          text=True, timeout=30, check=True).stdout


def main():
    with work_dir("sluice-hdr-") as work, processes(30) as procs:
        sock = os.path.join(work, "stats.sock")
        log = os.path.join(work, "stages.hlog")
        run = subprocess.Popen(
            [sluice, "run", "--config", demo_toml, "--set", f'stats.socket="{sock}"', "--set", 'stats.http=""',
             *NO_SINK_OUTPUT, "--set", "loadgen.rate=2000", "--set", f"loadgen.count={EVENTS}"],
            stdout=open(os.path.join(work, "sluice.out"), "w"), stderr=subprocess.STDOUT)
        procs.append(run)
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        else:
            fail("no stats socket")
            return
        logger = subprocess.Popen([sluice, "stats", "--socket", sock, "--hdr-log", log, "--interval", "0.5"],
                                  stderr=subprocess.PIPE, text=True)
        procs.append(logger)
        deadline = time.time() + 120
        while time.time() < deadline:
            stats = json.loads(ask(sock, "stats"))
            if stats["latency_ns"]["end_to_end"]["count"] >= EVENTS:
                break
            time.sleep(0.5)
        else:
            fail(f"load not done: {stats['source']}")
            return
        time.sleep(1.2)  # intervals after the load: they must be empty
        hists = {}
        for name in json.loads(ask(sock, "stats"))["latency_ns"]:
            text = ask(sock, f"hist {name}")
            count = int(re.search(r"count=(\d+)", text).group(1))
            pct = {float(p): int(v) for p, v in re.findall(r"^(\d+\.\d+) (\d+)$", text, re.M)}
            mx = int(re.search(r"max=(\d+)", text).group(1))
            hists[name] = (count, pct, mx)
        logger.send_signal(signal.SIGTERM)
        _, err = logger.communicate(timeout=30)
        if logger.returncode != 0:
            fail(f"stats --hdr-log exited {logger.returncode}: {err}")

        lines = open(log).read().splitlines()
        for header in ("#[Histogram log format version 1.3]", "#[StartTime: ", "#[BaseTime: ",
                       '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'):
            if not any(l.startswith(header) for l in lines):
                fail(f"log: no header line {header}")
        entries = [l for l in lines if l.startswith("Tag=")]
        print(f"log: {len(entries)} interval histograms")

        java = subprocess.run(["java", "-cp", JAR, java_source, log], capture_output=True, text=True, timeout=180)
        if java.returncode != 0:
            fail(f"java reader failed: {java.stderr[-2000:]}")
            return
        print(java.stdout, end="")
        read = {}
        for line in java.stdout.splitlines():
            tag, rest = line.split(" ", 1)
            read[tag] = dict(kv.split("=") for kv in rest.split())
        if set(read) != set(hists):
            fail(f"tags {sorted(read)} in the log, stages {sorted(hists)} in hist")
        for name, (count, pct, mx) in hists.items():
            if name not in read:
                continue
            r = read[name]
            if name == "commit" and int(r["count"]) != count:
                continue  # a periodic commit may land between the log's last interval and hist
            if int(r["count"]) != count:
                fail(f"{name}: the log holds {r['count']} values, hist {count}")
                continue
            if name in ("decode", "end_to_end", "in_pipeline") and count < EVENTS:
                fail(f"{name}: {count} values, expected at least {EVENTS}")
            if int(r["intervals"]) < 3:
                fail(f"{name}: only {r['intervals']} intervals")
            for p in (50.0, 90.0, 99.0, 99.9):
                value, lowest = (int(x) for x in r[f"p{p}"].split("/"))
                mine = pct[p]
                # Equal, or hist capped the top bucket at the true max
                # (HdrHistogram reports the bucket's highest value).
                if not (mine == value or (mine == mx and lowest <= mine <= value)):
                    fail(f"{name} p{p}: java reader {value}, hist {mine} (max {mx})")
        # Intervals after the load hold nothing.
        last = [l for l in entries if l.startswith("Tag=end_to_end,")][-1]
        if float(last.split(",")[3]) != 0.0:
            fail(f"the last end_to_end interval is not empty: {last[:80]}")


main()
finish()
