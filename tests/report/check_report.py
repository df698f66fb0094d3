#!/usr/bin/python3
"""Independent checks of a Keel run report, for tests/report.

  check_report.py data REPORT.html RUN_DIR [--max-bytes N]
      The data embedded in the page (<script id="run-data">) against the
      run folder's own files, read here with Python's json and csv modules:
      every epoch line of metrics.jsonl, the number of steps in steps.csv
      and their range, every guard event of anomalies.jsonl (up to the
      page's cut), run.json's facts. Also: nothing in the page refers to
      another file or the network, and the file is under N bytes.
  check_report.py dom DUMP.html STDERR.txt EVENTS
      What headless Chromium saw (its --dump-dom output and its stderr):
      no script error, every chart the data called for drawn (data points
      and non-blank pixels on each canvas), EVENTS guard-event rows, and
      guard events on the loss chart when EVENTS > 0.
Exit 0 when every check holds; otherwise 1 and what failed on stderr.
"""
import csv
import html.parser
import json
import math
import os
import re
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def embedded_data(text):
    m = re.search(r'<script id="run-data" type="application/json">(.*?)</script>', text, re.S)
    check(m is not None, "no <script id=run-data> in the page")
    return json.loads(m.group(1)) if m else {}


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0)
    return a == b


def check_data(report, run_dir, max_bytes):
    raw = open(report, "rb").read()
    check(len(raw) < max_bytes, f"report is {len(raw)} bytes, not under {max_bytes}")
    text = raw.decode("utf-8")
    # Offline: no external scripts, styles, images, frames or fetches.
    for pattern in [r'<script[^>]+src=', r'<link\b', r'<iframe\b', r'\bsrc="(?!data:)', r'url\((?!data:)',
                    r'<img[^>]+src="https?:']:
        check(re.search(pattern, text) is None, f"the page refers to something outside it: {pattern}")
    check("Chart.js v" in text, "Chart.js is not inlined")
    data = embedded_data(text)

    metrics = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl")) if l.strip()]
    by_epoch = {e["epoch"]: e for e in data.get("epochs", [])}
    check(len(metrics) > 0, "metrics.jsonl is empty")
    check(data["epoch_count"] == len(metrics), f"{data['epoch_count']} epochs counted in the page, {len(metrics)} in metrics.jsonl")
    if len(metrics) <= 1500:
        check(len(data["epochs"]) == len(metrics), f"{len(data['epochs'])} epochs in the page, {len(metrics)} in metrics.jsonl")
    else:
        check(len(data["epochs"]) <= 1501, f"{len(data['epochs'])} epochs drawn")
    check(metrics[-1]["epoch"] in by_epoch, "the last epoch is missing from the page")
    for line in metrics:
        if line["epoch"] in by_epoch:
            page = by_epoch[line["epoch"]]
            for key, value in line.items():
                check(same(page.get(key), value), f"epoch {line['epoch']}: {key} is {page.get(key)} in the page, {value} in the file")

    with open(os.path.join(run_dir, "steps.csv")) as f:
        rows = list(csv.reader(f))
    check(rows[0] == ["step", "loss", "lr", "grad_norm"], f"steps.csv header {rows[0]}")
    steps = [[float(v) for v in r] for r in rows[1:]]
    check(data["steps"]["count"] == len(steps), f"{data['steps']['count']} steps in the page, {len(steps)} in steps.csv")
    check([s[0] for s in steps] == list(range(len(steps))), "steps.csv does not count steps 0, 1, 2, ...")
    by_step = {int(s[0]): s for s in steps}
    for column, key in [(1, "loss"), (2, "lr"), (3, "grad_norm")]:
        series = data["steps"][key]
        check(0 < len(series["x"]) <= 1500, f"{key}: {len(series['x'])} points drawn")
        check(series["x"] == sorted(series["x"]), f"{key}: steps not in order")
        for x, y in zip(series["x"], series["y"]):
            v = by_step[int(x)][column]
            check((y is None and not math.isfinite(v)) or (y is not None and math.isclose(y, v, rel_tol=1e-12)),
                  f"{key} at step {x}: {y} in the page, {v} in steps.csv")
        values = [s[column] for s in steps if math.isfinite(s[column])]
        drawn = [y for y in series["y"] if y is not None]
        if values:  # the extremes survive downsampling
            check(math.isclose(max(drawn), max(values)) and math.isclose(min(drawn), min(values)),
                  f"{key}: the drawn points lose the extremes")

    events_file = os.path.join(run_dir, "anomalies.jsonl")
    events = [json.loads(l) for l in open(events_file) if l.strip()] if os.path.exists(events_file) else []
    check(data["event_count"] == len(events), f"{data['event_count']} events in the page, {len(events)} in anomalies.jsonl")
    check(data["events"] == events[:len(data["events"])], "the page's events differ from anomalies.jsonl")

    facts = json.load(open(os.path.join(run_dir, "run.json")))
    facts.pop("graph_dot")
    check(data["facts"] == facts, "the page's facts differ from run.json")
    # The facts shown in the table, as a reader sees them.
    for shown in [facts["graph_file"], str(facts["seed"]), facts["keel_version"]] + [p["name"] for p in facts["plugins"]]:
        check(shown in text or shown in json.dumps(data), f"fact {shown!r} is not in the page")
    json.dump({"sealed": facts["sealed"], "status": facts["status"], "profile": facts["profile"],
               "node_times": len(data["node_times"]), "events": len(events), "steps": len(steps),
               "bytes": len(raw), "has_svg": "<svg" in text}, sys.stdout)


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}
        self.canvases = []
        self.guard_rows = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "canvas":
            self.canvases.append(a)
        elif tag == "tr" and a.get("class") == "guard-event":
            self.guard_rows += 1


def check_dom(dump, stderr, events):
    dom = Dom()
    dom.feed(open(dump, encoding="utf-8").read())
    check(dom.body.get("data-errors", "missing") == "", f"script errors in the page: {dom.body.get('data-errors')}")
    expected = int(dom.body.get("data-charts-expected", "0"))
    rendered = int(dom.body.get("data-charts-rendered", "-1"))
    check(expected >= 5, f"only {expected} charts were made")
    check(rendered == expected, f"{rendered} of {expected} charts drawn")
    drawn = [c for c in dom.canvases if "data-drawn-pixels" in c]
    check(len(drawn) == expected, f"{len(drawn)} canvases checked, {expected} charts")
    for c in drawn:
        check(int(c["data-drawn-pixels"]) > 2000 and int(c["data-points"]) > 0, f"canvas {c.get('id')} is blank: {c}")
    check(dom.guard_rows == events, f"{dom.guard_rows} guard-event rows, {events} events")
    loss = [c for c in dom.canvases if c.get("id") == "chart-step-loss"]
    check(len(loss) == 1, "no per-step loss chart")
    if events and loss:
        check(int(loss[0].get("data-guard-points", "0")) > 0, "no guard events on the loss chart")
    log = open(stderr, encoding="utf-8", errors="replace").read()
    for line in log.splitlines():
        if "CONSOLE" in line or "Uncaught" in line:
            check(not re.search(r"Uncaught|Error|error", line), f"browser console: {line}")
    json.dump({"charts": expected, "drawn": rendered, "guard_rows": dom.guard_rows}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "data":
        limit = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--max-bytes" else 2_000_000
        check_data(sys.argv[2], sys.argv[3], limit)
    elif sys.argv[1] == "dom":
        check_dom(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: see the docstring")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1 if failures else 0)
