"""Turns one bench/run's measurements into the results table: printed, and
written into bench/README.md between the table markers (the rest of the
README is left as it is).

usage: report.py RESULTS_DIR README
RESULTS_DIR holds ops.json (bench_ops), torch_ops.json, dispatch.json,
anomaly.json (bench_anomaly, optional),
train.json ({model: {"keel": [steps/s...], "torch": [...], "steps": n}}),
profile.json ({"plain": [steps/s...], "profiled": [...], "steps": n}) and
machine.json; and any extra-*.json that other bench programs wrote (see
README.md, "Adding a benchmark"): a JSON list of rows, each an object with
"benchmark" and any of "keel", "reference", "torch", "ratio", "speedup",
"target" (strings), appended to the table in file-name order.
"""
import json
import re
import statistics
import sys
from pathlib import Path

START, END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
OP_TARGET = 1.05  # engine time / raw oneDNN time, for ops of 50 µs or more
DISPATCH_TARGET_US = {1: 1.0, 2: 2.0}  # engine µs per node above the bare loop, by inter-op threads
PROFILE_TARGET = 1.10  # time per step with --profile / without
TRAIN_TARGETS = {"flagship": 3.0, "large": 1.0}  # keel steps/s over torch steps/s


def ms(x):
    return f"{x:.3f} ms" if x < 10 else f"{x:.1f} ms"


def verdict(ok):
    return "met" if ok else "missed"


def op_rows(ops, torch_ops):
    rows = []
    for r in ops:
        key = f"{r['id']} {r['mode']}"
        keel, raw, torch = r["engine_ms"], r["raw_ms"], torch_ops.get(key)
        over = keel / raw
        target = f"<= {OP_TARGET:.2f}: {verdict(over <= OP_TARGET)}" if raw >= 0.05 else "(op < 50 µs)"
        raw_cell = ms(raw)
        if "raw_naive_ms" in r:
            raw_cell += f" (plain layout: {ms(r['raw_naive_ms'])})"
        rows.append([f"{r['op']} {r['mode']} {r['shape']}", ms(keel), raw_cell,
                     ms(torch) if torch else "-", f"{over:.3f}",
                     f"{torch / keel:.2f}x" if torch else "-", target])
    return rows


def dispatch_rows(dispatch):
    rows = []
    for r in dispatch:
        extra = r["engine_us"] - r["floor_us"]
        inter = r.get("inter_op", 1)
        target = DISPATCH_TARGET_US.get(inter, 2.0)
        threads = "1 inter-op thread" if inter == 1 else f"{inter} inter-op threads"
        rows.append([f"dispatch, {r['nodes']:,}-node {r['graph']} of no-op nodes, {threads}",
                     f"{r['engine_us']:.3f} µs/node", f"{r['floor_us']:.3f} µs/node (bare loop)", "-",
                     f"{r['engine_us'] / r['floor_us']:.1f}", "-",
                     f"+{extra:.3f} µs/node (<= {target:g}): {verdict(extra <= target)}"])
    return rows


def profile_rows(profile):
    plain, profiled = statistics.median(profile["plain"]), statistics.median(profile["profiled"])
    cost = plain / profiled  # time per step with the profiler / without
    return [[f"profiling cost, flagship with --profile, {profile['steps']} steps", f"{profiled:.1f} steps/s",
             f"{plain:.1f} steps/s (no profile)", "-", f"{cost:.3f}", "-",
             f"<= {PROFILE_TARGET:.2f}: {verdict(cost <= PROFILE_TARGET)}"]]


def extra_rows(results):
    rows = []
    keys = ["benchmark", "keel", "reference", "torch", "ratio", "speedup", "target"]
    for f in sorted(results.glob("extra-*.json")):
        try:
            found = json.loads(f.read_text())
        except ValueError:
            found = None
        if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
            print(f"bench: warning: {f.name} is not a JSON list of rows; left out", file=sys.stderr)
            continue
        for r in found:
            rows.append([str(r.get(k, "-")) for k in keys])
    return rows


def train_rows(train):
    names = {"flagship": "training, flagship digits_train.yaml (batch 64)",
             "large": "training, large: 4 residual blocks, width 512, batch 256"}
    rows = []
    for model, r in train.items():
        keel, torch = statistics.median(r["keel"]), statistics.median(r["torch"])
        target = TRAIN_TARGETS[model]
        rows.append([f"{names[model]}, {r['steps']} steps", f"{keel:.1f} steps/s", "-", f"{torch:.1f} steps/s", "-",
                     f"{keel / torch:.2f}x", f">= {target:g}x: {verdict(keel / torch >= target)}"])
    return rows


def anomaly_rows(scans):
    return [[f"anomaly scan {r['scan']}, {r['mib']} MiB f32", f"{r['gbps']:.1f} GB/s",
             f"{r['read_gbps']:.1f} GB/s (STREAM-style read)", "-", f"{1 / r['ratio']:.2f}", "-", "-"]
            for r in scans]


def table(rows):
    head = ["benchmark", "keel", "raw oneDNN / floor", "PyTorch eager", "keel time / raw",
            "keel speed-up over PyTorch", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    results, readme = Path(sys.argv[1]), Path(sys.argv[2])
    load = lambda name: json.loads((results / name).read_text())
    machine = load("machine.json")
    rows = (op_rows(load("ops.json"), load("torch_ops.json")) + dispatch_rows(load("dispatch.json")) +
            train_rows(load("train.json")) +
            (anomaly_rows(load("anomaly.json")) if (results / "anomaly.json").exists() else []) +
            (profile_rows(load("profile.json")) if (results / "profile.json").exists() else []) +
            extra_rows(results))
    section = "\n".join([
        START,
        f"Run of {machine['date']}: {machine['cpu']}, {machine['threads']} threads for Keel and PyTorch "
        f"(oneDNN {machine['onednn']}, PyTorch {machine['torch']}, {machine['blas']}); "
        f"load average {machine['load_before']} before, {machine['load_after']} after; {machine['mode']}.",
        "",
        table(rows),
        END,
    ])
    print(section)
    text = readme.read_text() if readme.exists() else ""
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text += ("\n" if text else "") + "## Latest results\n\n" + section + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
