#!/usr/bin/env python3
"""The live page at GET / in headless Chromium.

Runs sluice with a fixed amount of built-in load, waits until it is all
processed, loads http://.../ in Debian's headless chromium, and checks that
the page rendered (its charts drawn, its table filled) with the numbers /stats
answers now that nothing changes. Keeps a screenshot in the meson log
directory (LIVE_PAGE_SCREENSHOT). Usage: live_page_test.py SLUICE DEMO_TOML SCREENSHOT
"""
import html.parser
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import NO_SINK_OUTPUT, fail, finish, free_port, processes, work_dir  # noqa: E402

sluice, demo_toml, screenshot = sys.argv[1:4]
EVENTS = 3000


class Dom(html.parser.HTMLParser):
    """Elements with an id or a class, their data-value and text."""

    def __init__(self):
        super().__init__()
        self.values, self.stack, self.svg_lines, self.row = {}, [], 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and (a.get("id") or "").startswith("stage-"):
            self.row = a["id"][6:]
        key = a.get("id") or (f"{self.row}.{a['class']}" if self.row and a.get("class") else None)
        if key and "data-value" in a:
            self.values[key] = a["data-value"]
        if tag == "polyline" and len(a.get("points", "").split()) >= 2:
            self.svg_lines += 1
        if tag == "body":
            self.values["updates"] = a.get("data-updates", "0")

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None


def chromium(args):
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--no-first-run", "--hide-scrollbars", *args], capture_output=True, text=True, timeout=120)


def main():
    with work_dir("sluice-live-") as work, processes(30) as procs:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        run = subprocess.Popen(
            [sluice, "run", "--config", demo_toml, "--set", f'stats.socket="{work}/stats.sock"',
             "--set", f'stats.http="127.0.0.1:{port}"',
             *NO_SINK_OUTPUT, "--set", "loadgen.rate=1000", "--set", f"loadgen.count={EVENTS}"],
            stdout=open(os.path.join(work, "sluice.out"), "w"), stderr=subprocess.STDOUT)
        procs.append(run)
        stats = None
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                stats = json.load(urllib.request.urlopen(base + "/stats", timeout=5))
                if stats["latency_ns"]["end_to_end"]["count"] >= EVENTS and stats["totals"]["lag"] == 0:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            fail(f"load not processed: {stats and stats['source']}")
            return
        with urllib.request.urlopen(base + "/") as r:
            page = r.read().decode()
            if not r.headers["Content-Type"].startswith("text/html"):
                fail(f"GET / is {r.headers['Content-Type']}")
        for external in ("http://", "https://", "src=", "<link"):
            if external in page:
                fail(f"the page refers to something outside itself: {external}")

        # Three updates' worth of virtual time: charts with several points.
        dom = chromium(["--virtual-time-budget=4000", "--dump-dom", base + "/"])
        if dom.returncode != 0 or "<table" not in dom.stdout:
            fail(f"chromium --dump-dom: {dom.returncode} {dom.stderr[-1500:]}")
            return
        parsed = Dom()
        parsed.feed(dom.stdout)
        after = json.load(urllib.request.urlopen(base + "/stats", timeout=5))
        v = parsed.values
        if int(v.get("updates", 0)) < 2:
            fail(f"the page read /stats {v.get('updates')} times")
        if parsed.svg_lines < 4:
            fail(f"{parsed.svg_lines} chart lines drawn")
        expect = {"consumed": after["source"]["consumed"], "dead_lettered": after["source"]["dead_lettered"],
                  "lag": after["totals"]["lag"], "replay_exposure": after["totals"]["replay_exposure"]}
        for name, want in expect.items():
            if v.get(name) != str(want):
                fail(f"page shows {name}={v.get(name)}, /stats {want}")
        if after["source"]["consumed"] < EVENTS:
            fail(f"consumed {after['source']['consumed']} < {EVENTS}")
        stages = 0
        for stage, lat in after["latency_ns"].items():
            if stage == "commit":
                continue  # periodic commits may add values between the two reads
            for key in ("count", "p50", "p90", "p99", "p999", "max"):
                got = v.get(f"{stage}.{key}")
                if got != str(lat[key]):
                    fail(f"page shows {stage} {key}={got}, /stats {lat[key]}")
            stages += 1
        print(f"page: {stages} stages match /stats, {parsed.svg_lines} chart lines")

        # One update only: its 10-second window has no start yet and covers
        # everything since sluice started, so the percentiles the page
        # computes from /buckets equal /stats' (or, where /stats caps a
        # percentile at the true max, lie in the max's bucket).
        first = chromium(["--virtual-time-budget=500", "--dump-dom", base + "/"])
        parsed_first = Dom()
        parsed_first.feed(first.stdout)
        w = parsed_first.values
        if w.get("updates") != "1":
            fail(f"the one-update page read /stats {w.get('updates')} times")
        windows = 0
        for stage, lat in after["latency_ns"].items():
            if stage == "commit":
                continue
            for q, key in ((50, "p50"), (99, "p99")):
                got = int(w.get(f"{stage}.window_p{q}", "-1"))
                want = lat[key]
                top = lat["max"]
                if not (got == want or (want == top and top <= got <= top + top // 1024 + 1)):
                    fail(f"page's window p{q} of {stage} is {got}, /stats {key} {want} (max {top})")
                windows += 1
        print(f"page: {windows} windowed percentiles computed from /buckets match /stats")

        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        shot = chromium(["--virtual-time-budget=4000", "--window-size=1280,1000", f"--screenshot={screenshot}", base + "/"])
        if shot.returncode != 0 or not os.path.exists(screenshot) or os.path.getsize(screenshot) < 10000:
            fail(f"no screenshot: {shot.stderr[-1000:]}")
        else:
            with open(screenshot, "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    fail("the screenshot is not a PNG")
            print(f"screenshot: {screenshot}")


main()
finish()
