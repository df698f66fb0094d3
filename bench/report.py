"""Turns one bench/run's measurements into the results table: printed, and
written into bench/README.md between the table markers (the rest of the
README is left as it is).

usage: report.py RESULTS_DIR README
       report.py --training RESULTS_DIR [MODE]   the training rows only, printed; no file written
RESULTS_DIR holds ops.json (bench_ops), torch_ops.json, dispatch.json,
anomaly.json (bench_anomaly, optional),
train-runs.jsonl (one line per training run: {"threads": t, "model":
"flagship" or "large", "peer": "keel", "libtorch" or "torch",
"peer_malloc": the peers' GLIBC_TUNABLES or "glibc defaults", "run": the
run's JSON, with "steps" and "steps_per_s"; the peers' also have "loss",
"train_accuracy" and "blas", the BLAS files the process mapped}),
profile.json ({"plain": [steps/s...], "profiled": [...], "steps": n}) and
machine.json; and any extra-*.json that other bench programs wrote (see
README.md, "Adding a benchmark"): a JSON list of rows, each an object with
"benchmark" and any of "keel", "reference", "libtorch", "torch", "ratio",
"libtorch_speedup", "speedup", "target" (strings), appended to the table in
file-name order.
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
# keel steps/s over the peer's steps/s, at every thread count
TRAIN_TARGETS = {"flagship": {"libtorch": 4.0, "torch": 3.0}, "large": {"libtorch": 2.5, "torch": 1.0}}
PEER_NAMES = {"libtorch": "LibTorch", "torch": "PyTorch"}


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
        rows.append([f"{r['op']} {r['mode']} {r['shape']}", ms(keel), raw_cell, "-",
                     ms(torch) if torch else "-", f"{over:.3f}", "-",
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
                     f"{r['engine_us']:.3f} µs/node", f"{r['floor_us']:.3f} µs/node (bare loop)", "-", "-",
                     f"{r['engine_us'] / r['floor_us']:.1f}", "-", "-",
                     f"+{extra:.3f} µs/node (<= {target:g}): {verdict(extra <= target)}"])
    return rows


def profile_rows(profile):
    plain, profiled = statistics.median(profile["plain"]), statistics.median(profile["profiled"])
    cost = plain / profiled  # time per step with the profiler / without
    return [[f"profiling cost, flagship with --profile, {profile['steps']} steps", f"{profiled:.1f} steps/s",
             f"{plain:.1f} steps/s (no profile)", "-", "-", f"{cost:.3f}", "-", "-",
             f"<= {PROFILE_TARGET:.2f}: {verdict(cost <= PROFILE_TARGET)}"]]


def extra_rows(results):
    rows = []
    keys = ["benchmark", "keel", "reference", "libtorch", "torch", "ratio", "libtorch_speedup", "speedup", "target"]
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


def train_runs(results):
    """{(threads, model): {peer: [run, ...]}} from train-runs.jsonl, in the
    order the runs were made, and the peers' malloc settings."""
    groups, malloc = {}, set()
    for line in (results / "train-runs.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            groups.setdefault((int(r["threads"]), r["model"]), {}).setdefault(r["peer"], []).append(r["run"])
            malloc.add(r.get("peer_malloc", "glibc defaults"))
    return groups, malloc


def train_rows(groups):
    names = {"flagship": "training, flagship digits_train.yaml (batch 64)",
             "large": "training, large: 4 residual blocks, width 512, batch 256"}
    rows = []
    for (threads, model), peers in sorted(groups.items(), key=lambda g: (g[0][0], list(names).index(g[0][1]))):
        rate = {p: statistics.median(r["steps_per_s"] for r in runs) for p, runs in peers.items()}
        keel = rate["keel"]
        cells, verdicts = {}, []
        for peer, target in TRAIN_TARGETS[model].items():
            if peer not in rate:
                cells[peer] = ("-", "-")
                continue
            speedup = keel / rate[peer]
            cells[peer] = (f"{rate[peer]:.1f} steps/s", f"{speedup:.2f}x")
            verdicts.append(f"{PEER_NAMES[peer]} >= {target:g}x: {verdict(speedup >= target)}")
        thread_word = "thread" if threads == 1 else "threads"
        rows.append([f"{names[model]}, {peers['keel'][0]['steps']} steps, {threads} {thread_word}",
                     f"{keel:.1f} steps/s", "-", cells["libtorch"][0], cells["torch"][0], "-",
                     cells["libtorch"][1], cells["torch"][1], "; ".join(verdicts)])
    return rows


# Keel's steps/s at 2 threads over 1 thread (docs/performance.md, "Threads
# per op"): the flagship's ops are too small to split, so 2 threads must not
# lose to 1; the large model's are large enough to gain 1.7x.
SCALING_TARGETS = {"flagship": 1.0, "large": 1.7}


def scaling_rows(groups):
    names = {"flagship": "training, flagship: Keel at 2 threads over 1 thread",
             "large": "training, large model: Keel at 2 threads over 1 thread"}
    rows = []
    for model, target in SCALING_TARGETS.items():
        if (1, model) not in groups or (2, model) not in groups:
            continue
        one, two = (statistics.median(r["steps_per_s"] for r in groups[(t, model)]["keel"]) for t in (1, 2))
        rows.append([names[model], f"{two:.1f} steps/s (2 threads)", f"{one:.1f} steps/s (1 thread)", "-", "-",
                     f"{two / one:.2f}x", "-", "-", f">= {target:g}x: {verdict(two / one >= target)}"])
    return rows


def peer_checks(groups, malloc):
    """The peers' BLAS (which OpenBLAS build each process mapped) and malloc
    settings for the table's heading, and their losses to stderr: a peer
    that does not learn is not a fair peer."""
    memory = ("glibc malloc keeping freed memory (GLIBC_TUNABLES)" if malloc and "glibc defaults" not in malloc
              else "glibc malloc's defaults")
    blas = set()
    for (threads, model), peers in sorted(groups.items()):
        notes = []
        for peer in ("libtorch", "torch"):
            runs = peers.get(peer, [])
            for r in runs:
                blas.update(p for p in r.get("blas", []) if "libopenblas" in p)
            if runs:
                loss = statistics.median(r["loss"] for r in runs)
                accuracy = statistics.median(r["train_accuracy"] for r in runs)
                notes.append(f"{PEER_NAMES[peer]} {loss:.4g} ({accuracy:.3f})")
        print(f"bench: {model}, {threads} thread(s), last step's loss (train accuracy), medians: " + ", ".join(notes),
              file=sys.stderr)
    if not blas:
        print("bench: warning: the training peers mapped no OpenBLAS", file=sys.stderr)
        return f"peers' BLAS unknown, {memory}"
    if all("openblas-openmp" in p for p in blas):
        return f"LibTorch and PyTorch on OpenBLAS's OpenMP build, {memory}"
    print("bench: warning: the training peers did not all run OpenBLAS's OpenMP build: " + ", ".join(sorted(blas)),
          file=sys.stderr)
    return "peers' OpenBLAS: " + ", ".join(sorted(blas)) + f", {memory}"


def anomaly_rows(scans):
    return [[f"anomaly scan {r['scan']}, {r['mib']} MiB f32", f"{r['gbps']:.1f} GB/s",
             f"{r['read_gbps']:.1f} GB/s (STREAM-style read)", "-", "-", f"{1 / r['ratio']:.2f}", "-", "-",
             r.get("target", "-")]
            for r in scans]


def table(rows):
    head = ["benchmark", "keel", "raw oneDNN / floor", "LibTorch (C++)", "PyTorch eager", "keel time / raw",
            "keel speed-up over LibTorch", "keel speed-up over PyTorch", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def training_only(results, mode):
    """The training rows alone, printed (bench/run --training): the README's
    table is the full run's, never a partial one."""
    groups, malloc = train_runs(results)
    blas = peer_checks(groups, malloc)
    print(f"Training rows only (bench/README.md not written); {blas}; load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])} after; {mode}.\n")
    print(table(train_rows(groups)))


def main():
    if sys.argv[1] == "--training":
        training_only(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")
        return
    results, readme = Path(sys.argv[1]), Path(sys.argv[2])
    load = lambda name: json.loads((results / name).read_text())
    machine = load("machine.json")
    groups, malloc = train_runs(results)
    blas = peer_checks(groups, malloc)
    threads = sorted({t for t, _ in groups})
    rows = (op_rows(load("ops.json"), load("torch_ops.json")) + dispatch_rows(load("dispatch.json")) +
            train_rows(groups) + scaling_rows(groups) +
            (anomaly_rows(load("anomaly.json")) if (results / "anomaly.json").exists() else []) +
            (profile_rows(load("profile.json")) if (results / "profile.json").exists() else []) +
            extra_rows(results))
    section = "\n".join([
        START,
        f"Run of {machine['date']}: {machine['cpu']}, {machine['threads']} threads for Keel and PyTorch, "
        f"training at {' and '.join(map(str, threads))} thread{'s' if threads != [1] else ''} (oneDNN {machine['onednn']}, PyTorch {machine['torch']} "
        f"and its LibTorch, {machine['blas']}; {blas}); "
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
