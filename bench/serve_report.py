"""The serving table: printed, and written into bench/README.md between its
own markers (the rest of the README is left as it is).

usage: serve_report.py SERVE_DIR README
SERVE_DIR is what bench/run --serve wrote: meta.json, inprocess.json
(serve_inprocess), torch_forward.json (serve_peer.py forward) and
load-SERVER-rROWS-cCONNECTIONS-ROUND.json (serve_load) for the servers
keel, keel_batching, python and floor (serve_floor: no model, 1-row
requests only). Each figure is the median over rounds.
"""
import json
import re
import statistics
import sys
from pathlib import Path

from readme_section import replace_section

START, END = "<!-- bench:serve:start -->", "<!-- bench:serve:end -->"
OVERHEAD_TARGET_US = 50
THROUGHPUT_TARGET = 10


def us(v):
    return f"{v / 1000:.1f} ms" if v >= 10000 else f"{v:.0f} µs" if v >= 100 else f"{v:.1f} µs"


def rate(r, rows):
    """The median throughput, with the rounds' range when there are several."""
    v, (lo, hi) = r["throughput_rps"], r["rps_range"]
    notes = ([f"{v * rows:,.0f} rows/s"] if rows > 1 else []) + ([f"rounds {lo:,.0f}-{hi:,.0f}"] if hi > lo else [])
    return f"{v:,.0f} req/s" + (f" ({'; '.join(notes)})" if notes else "")


def load_results(folder):
    """{(server, rows, connections): {metric: median over rounds}, plus
    "errors": the sum}."""
    runs = {}
    for f in sorted(folder.glob("load-*.json")):
        m = re.fullmatch(r"load-(\w+)-r(\d+)-c(\d+)-\d+\.json", f.name)
        runs.setdefault((m[1], int(m[2]), int(m[3])), []).append(json.loads(f.read_text()))
    out = {}
    for key, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("p50_us", "p99_us", "throughput_rps")}
        med["rps_range"] = (min(r["throughput_rps"] for r in rs), max(r["throughput_rps"] for r in rs))
        med["errors"] = sum(r["errors"] for r in rs)
        med["requests"] = sum(r["requests"] for r in rs)
        med["first_error"] = next((r["first_error"] for r in rs if r["errors"]), "")
        out[key] = med
    return out


def main():
    folder, readme = Path(sys.argv[1]), Path(sys.argv[2])
    meta = json.loads((folder / "meta.json").read_text())
    inproc = {r["rows"]: r["us"] for r in json.loads((folder / "inprocess.json").read_text())}
    torch_fwd = json.loads((folder / "torch_forward.json").read_text())
    torch_us = {1: torch_fwd["rows1_us"], 16: torch_fwd["rows16_us"]}
    res = load_results(folder)
    missing = "not built" if not meta["keel_built"] else "-"

    def get(server, rows, conns):
        return res.get((server, rows, conns))

    def latency(r):
        return f"{us(r['p50_us'])} / {us(r['p99_us'])}" if r else missing

    def errors_note(r):
        return f" ({r['errors']} errors of {r['requests']})" if r and r["errors"] else ""

    rows_out = []
    for n in (1, 16):
        rows_out.append([f"in process, {n} row{'s' if n > 1 else ''}: `Executor::run` / `model(x)`",
                         us(inproc[n]), us(torch_us[n]), "-", f"{torch_us[n] / inproc[n]:.2f}x", "-"])
    for n in (1, 16):
        for c in (1, 16):
            k, p, f = get("keel", n, c), get("python", n, c), get("floor", n, c)
            what = f"{n}-row requests, {c} connection{'s' if c > 1 else ''}"
            rows_out.append([f"{what}: latency p50 / p99", latency(k) + errors_note(k), latency(p) + errors_note(p),
                             latency(f) + errors_note(f) if f else "-",
                             f"{p['p50_us'] / k['p50_us']:.2f}x (p50)" if k and p else "-", "-"])
            if n == 1 and c == 1:
                over_k = k["p50_us"] - inproc[1] if k else None
                over_p = p["p50_us"] - torch_us[1] if p else None
                verdict = (f"<= {OVERHEAD_TARGET_US} µs: " + ("met" if over_k <= OVERHEAD_TARGET_US else "missed")
                           if k else f"<= {OVERHEAD_TARGET_US} µs: {missing}")
                rows_out.append(["server overhead per request, 1 row, 1 connection (p50 minus in process)",
                                 us(over_k) if k else missing, us(over_p) if p else "-",
                                 us(f["p50_us"]) if f else "-", "-", verdict])
                if k and f:
                    rows_out.append(["the same, above the no-model server (minus its p50)", us(over_k - f["p50_us"]),
                                     us(over_p - f["p50_us"]) if p else "-", "-", "-", "-"])
            ratio = k["throughput_rps"] / p["throughput_rps"] if k and p else None
            target = "-"
            if n == 1 and c == 16:
                target = (f">= {THROUGHPUT_TARGET}x: " + ("met" if ratio >= THROUGHPUT_TARGET else "missed")
                          if k else f">= {THROUGHPUT_TARGET}x: {missing}")
            rows_out.append([f"{what}: throughput", rate(k, n) if k else missing,
                             rate(p, n) if p else "-", rate(f, n) if f else "-",
                             f"{ratio:.2f}x" if ratio else "-", target])
            b = get("keel_batching", n, c)
            if c > 1 and (b or not meta["keel_built"]):
                rb = b["throughput_rps"] / p["throughput_rps"] if b and p else None
                rows_out.append([f"{what}: throughput, Keel batching (`{meta['batching']}`); latency p50 / p99",
                                 f"{rate(b, n)}; {latency(b)}{errors_note(b)}" if b else missing,
                                 "-", "-", f"{rb:.2f}x" if rb else "-", "-"])

    head = ["measurement", "Keel (`keel serve`)", "Python (`http.server` + PyTorch)",
            "no model (`serve_floor`)", "Keel speed-up over Python", "target"]
    table = "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                      ["| " + " | ".join(r) + " |" for r in rows_out])
    mode = "QUICK run (1 round, a fifth of the requests): not for comparison" if meta["quick"] else \
        f"medians of {meta['rounds']} interleaved rounds"
    section = "\n".join([
        START,
        f"Run of {meta['date']}: {meta['cpu']}; {meta['threads']} thread(s) per server (OpenMP for Keel, "
        f"`torch.set_num_threads` for PyTorch {meta['torch']}, Python {meta['python']}); load generator "
        f"`serve_load` on the same machine, loopback; load average {meta['load_before']} before, "
        f"{meta['load_after']} after; {mode}."
        + ("" if meta["keel_built"] else " This build has no `keel serve`: its cells say \"not built\"."),
        "",
        table,
        END,
    ])
    replace_section(readme, START, END, section, "Latest serving results")


if __name__ == "__main__":
    main()
