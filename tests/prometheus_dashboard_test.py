#!/usr/bin/env python3
"""The dashboard and the rules against a real Prometheus scraping a real sluice.

Starts `sluice run` (embedded broker, built-in load, a few malformed events
for the dead letters), starts Debian's `prometheus` scraping it every second
with config/prometheus/sluice-rules.yml loaded, waits for a few scrapes, then
runs every query of config/grafana/sluice.json (variables substituted) and
every rule expression through the HTTP API and checks the shape of what comes
back; `promtool check metrics` finds nothing wrong with /metrics.
Usage: prometheus_dashboard_test.py SLUICE DEMO_TOML RULES DASHBOARD
"""
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import NO_SINK_OUTPUT, fail, finish, free_port, processes, wait_for_output, work_dir  # noqa: E402

sluice, demo_toml, rules_path, dashboard_path = sys.argv[1:5]


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def check_dashboard_schema(d):
    """What Grafana needs to import the file (its schema is not in Debian)."""
    for key in ("uid", "title", "panels", "templating", "schemaVersion", "time"):
        if key not in d:
            fail(f"dashboard: no '{key}'")
    if d.get("schemaVersion", 0) < 36:
        fail(f"dashboard: schemaVersion {d.get('schemaVersion')} is older than Grafana 9's 36")
    names = {v["name"]: v for v in d["templating"]["list"]}
    if names.get("datasource", {}).get("type") != "datasource" or names["datasource"].get("query") != "prometheus":
        fail("dashboard: no datasource variable of type prometheus")
    for v in ("group", "instance"):
        if v not in names or "sluice_consumer_info" not in json.dumps(names[v].get("query")):
            fail(f"dashboard: variable {v} is not fed by sluice_consumer_info")
    ids, cells = set(), set()
    for p in d["panels"]:
        if p.get("id") in ids:
            fail(f"dashboard: panel id {p.get('id')} twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(k in g for k in ("h", "w", "x", "y")) or g["x"] + g["w"] > 24:
            fail(f"dashboard: panel '{p.get('title')}' has a bad gridPos {g}")
            continue
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fail(f"dashboard: panel '{p.get('title')}' overlaps another at {x},{y}")
                    break
                cells.add((x, y))
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"dashboard: panel '{p.get('title')}' does not use the datasource variable")
        if not p.get("targets"):
            fail(f"dashboard: panel '{p.get('title')}' has no query")
        for t in p.get("targets", []):
            if not t.get("expr") or not t.get("refId"):
                fail(f"dashboard: panel '{p.get('title')}' has a target without expr or refId")


def main():
    with work_dir("sluice-prom-") as work, processes(20) as procs:
        http_port, prom_port = free_port(), free_port()
        sluice_log = open(os.path.join(work, "sluice.out"), "w")
        run = subprocess.Popen(
            [sluice, "run", "--config", demo_toml,
             "--set", f'stats.http="127.0.0.1:{http_port}"',
             "--set", f'stats.socket="{work}/stats.sock"',
             *NO_SINK_OUTPUT, "--set", "loadgen.rate=1000",
             # Sink threads: the ring depths panel has data only with them
             # (inline sinks have no rings); every other panel has it either way.
             "--set", 'pipeline.sinks="threads"'],
            stdout=sluice_log, stderr=subprocess.STDOUT)
        procs.append(run)
        bootstrap = wait_for_output(sluice_log.name, r"from (\S+) \(embedded broker\)", 200)
        if not bootstrap:
            fail("sluice did not start: " + open(sluice_log.name).read()[-2000:])
            return
        # Malformed events, so the dead-letter series exist.
        for i in range(3):
            subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "portfolio.analytics", "-k", f"bad-{i}"],
                           input=b'{"event_id":"broken"', check=True, timeout=30)

        instance = f"127.0.0.1:{http_port}"
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {os.path.abspath(rules_path)}
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: ['{instance}']
""")
        prom_log = open(os.path.join(work, "prometheus.out"), "w")
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/data",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
            stdout=prom_log, stderr=subprocess.STDOUT)
        procs.append(prom)
        base = f"http://127.0.0.1:{prom_port}"

        # Ready when Prometheus has scraped sluice several times with events
        # through every stage, the dead letters counted, and the rules evaluated.
        ready_expr = ('count_over_time(up{job="sluice"}[1m]) >= 8 and on (instance) '
                      'sluice_latency_seconds_count{stage="end_to_end"} > 1000 and on (instance) '
                      'sum without (reason) (sluice_dead_letters_total) >= 3 and on (instance) '
                      'sluice:slo_errors:ratio_rate5m >= 0')
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                r = query(base, ready_expr)
                if r.get("status") == "success" and r["data"]["result"]:
                    break
            except OSError:
                pass
            if run.poll() is not None or prom.poll() is not None:
                break
            time.sleep(1)
        else:
            fail("no data after 120 s: " + json.dumps(query(base, 'up')) + open(prom_log.name).read()[-2000:])
            return
        if run.poll() is not None:
            fail("sluice exited: " + open(sluice_log.name).read()[-2000:])
            return
        if prom.poll() is not None:
            fail("prometheus exited: " + open(prom_log.name).read()[-2000:])
            return
        time.sleep(3)  # a few more scrapes under load for the rate windows
        print(f"prometheus at {base} scraping sluice at {instance}")

        # The exposition itself passes promtool's checks (names, HELP, TYPE, units).
        with urllib.request.urlopen(f"http://{instance}/metrics", timeout=10) as r:
            exposition = r.read()
        check = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, timeout=60)
        if check.returncode != 0:
            fail("promtool check metrics: " + (check.stdout + check.stderr).decode()[-2000:])

        # The variables, as Grafana would resolve them.
        def label_values(label, match):
            url = f"{base}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": match})
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)["data"]
        groups = label_values("group", "sluice_consumer_info")
        if groups != ["sluice-demo"]:
            fail(f"variable group: {groups}, expected ['sluice-demo']")
        instances = label_values("instance", 'sluice_consumer_info{group=~"sluice-demo"}')
        if instances != [instance]:
            fail(f"variable instance: {instances}, expected [{instance}]")
        # 1m: the whole run so far, so every query sees some of everything.
        variables = {"$instance": instance, "$group": "sluice-demo", "$__rate_interval": "1m",
                     "${datasource}": "prometheus"}

        dashboard = json.load(open(dashboard_path))
        check_dashboard_schema(dashboard)
        checked = 0
        for p in dashboard["panels"]:
            for t in p.get("targets", []):
                expr = t["expr"]
                for k, v in variables.items():
                    expr = expr.replace(k, v)
                if "$" in expr:
                    fail(f"panel '{p['title']}': unsubstituted variable in {expr}")
                    continue
                r = query(base, expr)
                checked += 1
                where = f"panel '{p['title']}' query {t['refId']} ({expr})"
                if r.get("status") != "success":
                    fail(f"{where}: {r.get('error')}")
                    continue
                result = r["data"]["result"]
                if r["data"]["resultType"] != "vector" or not result:
                    fail(f"{where}: no data")
                    continue
                # Every label the legend names is on every series.
                for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
                    missing = [s["metric"] for s in result if label not in s["metric"]]
                    if missing:
                        fail(f"{where}: series without label '{label}': {missing[:2]}")
                values = [float(s["value"][1]) for s in result]
                if not any(math.isfinite(v) for v in values):
                    fail(f"{where}: no finite value: {values[:4]}")
                if "instance" in t.get("legendFormat", "") and any(s["metric"].get("instance") != instance for s in result):
                    fail(f"{where}: a series of another instance")
        print(f"dashboard: {checked} queries run")

        # The rules: every expression evaluates; every recorded series holds
        # data; every metric the rules name exists (a rename fails here).
        with urllib.request.urlopen(base + "/api/v1/rules", timeout=10) as r:
            loaded = json.load(r)["data"]["groups"]
        rules = [rule for g in loaded for rule in g["rules"]]
        if len(rules) < 20:
            fail(f"prometheus loaded {len(rules)} rules")
        for rule in rules:
            if rule.get("health") != "ok":
                fail(f"rule {rule['name']}: health {rule.get('health')}: {rule.get('lastError')}")
            r = query(base, rule["query"])
            if r.get("status") != "success":
                fail(f"rule {rule['name']}: {r.get('error')}")
                continue
            if rule["type"] == "recording":
                rec = query(base, rule["name"])["data"]["result"]
                if not rec:
                    fail(f"recording rule {rule['name']}: no series")
                elif rule["name"].startswith("sluice:slo_errors") and not all(
                        s["metric"].get("instance") == instance and s["metric"].get("stage") == "end_to_end" for s in rec):
                    fail(f"recording rule {rule['name']}: labels {rec[0]['metric']}")
            for name in set(re.findall(r"\b((?:sluice|process)_[a-z_]+)\b", rule["query"])):
                if not query(base, f"count({{__name__=\"{name}\", instance=\"{instance}\"}})")["data"]["result"]:
                    fail(f"rule {rule['name']}: sluice exports no {name}")
            # Only the readiness alert has a known state here: latency and
            # commit failures during the group join depend on the host's load.
            if rule["name"] == "SluiceNotReady" and rule.get("state") != "inactive":
                fail(f"alert {rule['name']} is {rule.get('state')} on a healthy pipeline")
        print(f"rules: {len(rules)} evaluated")


main()
finish()
