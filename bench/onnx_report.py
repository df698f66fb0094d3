"""The ONNX inference benchmark: Keel against ONNX Runtime on the same .onnx
files, one thread each. Checks that both compute the same outputs, runs
the measurements interleaved, then prints its table and writes it into
bench/README.md between its own markers (the rest of the README is left as
it is). bench/run --onnx prepares DIR and runs this.

usage: onnx_report.py --keel KEEL --inprocess SERVE_INPROCESS --ort-bench ORT_BENCH_JS --data DIR
                      --results JSON --readme README [--rounds R] [--load-before "L1 L5 L15"] [--mode TEXT]

DIR holds, for each model M (flagship, cnn), M.onnx and its `keel import`
(M/M.yaml, M/M.safetensors), the inputs (digits1.npy, digits256.npy,
cnn1.npy, cnn32.npy; onnx_models.py) and the Identity models
(identity64.onnx, identity3x32x32.onnx).

Before any timing, every model and batch runs once in each: `keel run
M/M.yaml --params M/M.safetensors` and ONNX Runtime (ort_bench.js outputs);
every output must agree within 1e-4, relative for numbers above 1 in
magnitude, absolute below (|keel - ort| <= 1e-4 * max(1, |ort|)), or the
benchmark stops.

Timing: one measurement is one process, which loads its model, runs it 3
times untimed, sizes its samples to last about 20 ms, takes 3 samples and
reports the median per-run time: serve_inprocess --optimize (Keel: the imported
graph and parameters loaded as `keel run` loads them and optimized as it
optimizes inference, batchnorm folded and relu fused; Executor::run on the batch,
the sequential scheduler, OMP_NUM_THREADS=1) and ort_bench.js time (ONNX
Runtime through onnxruntime-node: intraOpNumThreads 1, interOpNumThreads 1,
sequential execution, `await session.run(feeds)`). Each round runs every
measurement once (Keel and ONNX Runtime on each model and batch, and ONNX
Runtime on the Identity models), in an order rotated by one per round; the
table gives medians over the rounds.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from readme_section import replace_section

START, END = "<!-- bench:onnx:start -->", "<!-- bench:onnx:end -->"
TARGET = 0.9  # Keel time / ONNX Runtime time
TOLERANCE = 1e-4
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (model, input name, batch, label); the input file is DIR/{stem}{batch}.npy.
MODELS = [
    ("flagship", "pixels", "digits", 1, "flagship MLP (`digits_infer.yaml`, trained)"),
    ("flagship", "pixels", "digits", 256, "flagship MLP (`digits_infer.yaml`, trained)"),
    ("cnn", "x", "cnn", 1, "CNN (3x32x32: conv + BN, 2 residual blocks, pools, linear)"),
    ("cnn", "x", "cnn", 32, "CNN (3x32x32: conv + BN, 2 residual blocks, pools, linear)"),
]
IDENTITIES = [("identity64", "digits", 1, "[1, 64]"), ("identity64", "digits", 256, "[256, 64]"),
              ("identity3x32x32", "cnn", 1, "[1, 3, 32, 32]"), ("identity3x32x32", "cnn", 32, "[32, 3, 32, 32]")]


def env():
    return dict(os.environ, OMP_NUM_THREADS="1", NODE_PATH=str(ROOT / "peers" / "node_modules"))


def run(cmd, what):
    p = subprocess.run([str(c) for c in cmd], env=env(), capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: error: {what} exited with status {p.returncode}; its output:\n"
                 + p.stdout[-2000:] + p.stderr[-2000:])
    return p.stdout


class Bench:
    def __init__(self, args):
        self.a, self.data = args, Path(args.data)

    def rows(self, stem, batch):
        return self.data / f"{stem}{batch}.npy"

    def check(self, work):
        """Keel's and ONNX Runtime's outputs on every model and batch; exits
        on a difference above the tolerance. Returns the largest scaled
        difference per model and batch."""
        worst = {}
        for model, name, stem, batch, _ in MODELS:
            rows = self.rows(stem, batch)
            out = Path(work) / f"{model}{batch}"
            run([self.a.keel, "run", self.data / model / f"{model}.yaml", "--params",
                 self.data / model / f"{model}.safetensors", "--input", f"{name}={rows}", "-o", out, "-q"],
                f"keel run {model}.yaml")
            ort = json.loads(run(["node", self.a.ort_bench, "outputs", self.data / f"{model}.onnx", f"{name}={rows}"],
                                 f"ort_bench.js outputs {model}.onnx"))
            diff = 0.0
            for key, value in ort.items():
                o = np.array(value["data"], dtype=np.float64).reshape(value["dims"])
                path = out / f"{key}.npy"
                if not path.exists():
                    sys.exit(f"bench: error: ONNX Runtime's output {key!r} of {model}.onnx has no {path.name} from keel run")
                k = np.load(path).astype(np.float64)
                if k.shape != o.shape:
                    sys.exit(f"bench: error: {model}.onnx, batch {batch}, output {key!r}: "
                             f"Keel's shape {list(k.shape)}, ONNX Runtime's {list(o.shape)}")
                scaled = np.abs(k - o) / np.maximum(1.0, np.abs(o))
                i = np.unravel_index(int(np.argmax(scaled)), scaled.shape)
                if scaled[i] > TOLERANCE:
                    sys.exit(f"bench: error: Keel and ONNX Runtime disagree on {model}.onnx, batch {batch}, "
                             f"output {key!r} at {list(map(int, i))}: {k[i]!r} against {o[i]!r} "
                             f"(difference {scaled[i]:.3g}, tolerance {TOLERANCE:g} relative above 1)")
                diff = max(diff, float(scaled[i]))
            worst[f"{model} {batch}"] = diff
        return worst

    def keel(self, model, stem, batch):
        out = run([self.a.inprocess, self.data / model / f"{model}.yaml", self.data / model / f"{model}.safetensors",
                   self.rows(stem, batch), "--quick", "--optimize"], f"serve_inprocess {model}.yaml")
        return json.loads(out)[0]["us"]

    def ort(self, onnx, name, stem, batch):
        out = run(["node", self.a.ort_bench, "time", self.data / f"{onnx}.onnx", f"{name}={self.rows(stem, batch)}",
                   "--rounds", "3"], f"ort_bench.js time {onnx}.onnx")
        return json.loads(out)["us"]

    def measurements(self):
        """(key, callable) for every measurement of a round."""
        m = []
        for model, name, stem, batch, _ in MODELS:
            m.append((f"keel {model} {batch}", lambda a=(model, stem, batch): self.keel(*a)))
            m.append((f"ort {model} {batch}", lambda a=(model, name, stem, batch): self.ort(*a)))
        for onnx, stem, batch, _ in IDENTITIES:
            m.append((f"ort {onnx} {batch}", lambda a=(onnx, "x", stem, batch): self.ort(*a)))
        return m

    def measure(self):
        m = self.measurements()
        results = {key: [] for key, _ in m}
        for r in range(self.a.rounds):
            print(f"bench: onnx: round {r + 1} of {self.a.rounds}", file=sys.stderr)
            for key, call in m[r % len(m):] + m[:r % len(m)]:
                results[key].append(call())
        return results


def us(values):
    def f(x):
        return f"{x:.1f}" if x < 100 else f"{x:,.0f}"
    spread = f" (rounds {f(min(values))}-{f(max(values))})" if len(values) > 1 else ""
    return f"{f(statistics.median(values))} µs" + spread


def section(results, meta):
    med = {k: statistics.median(v) for k, v in results.items()}
    head = ["model, batch (1 thread each)", "Keel", "ONNX Runtime", "Keel / ORT", "target"]
    rows = []
    for model, _, _, batch, label in MODELS:
        k, o = results[f"keel {model} {batch}"], results[f"ort {model} {batch}"]
        ratio = med[f"keel {model} {batch}"] / med[f"ort {model} {batch}"]
        rows.append([f"{label}, batch {batch}", us(k), us(o), f"{ratio:.2f}x",
                     f"<= {TARGET:g}x: {'met' if ratio <= TARGET else 'missed'}"])
    for onnx, _, batch, shape in IDENTITIES:
        rows.append([f"ONNX Runtime's Node binding alone: one Identity node on {shape}", "-",
                     us(results[f"ort {onnx} {batch}"]), "-", "-"])
    table = "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                      ["| " + " | ".join(r) + " |" for r in rows])
    line = (f"Run of {meta['date']}: {meta['cpu']}; ONNX Runtime {meta['ort']} (onnxruntime-node, Node "
            f"{meta['node']}); 1 thread each; outputs agree within {meta['agreement']:.1e} (relative above 1); "
            f"load average {meta['load_before']} before, {meta['load_after']} after; "
            f"medians of {meta['rounds']} interleaved rounds" + (f"; {meta['mode']}" if meta["mode"] else "") + ".")
    return "\n".join([START, line, "", table, END])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keel", required=True)
    ap.add_argument("--inprocess", required=True, help="the bench build's serve_inprocess")
    ap.add_argument("--ort-bench", default=str(HERE / "ort_bench.js"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--results", required=True, help="where the raw measurements go (JSON)")
    ap.add_argument("--readme", required=True)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--load-before", default=" ".join(open("/proc/loadavg").read().split()[:3]))
    ap.add_argument("--mode", default="", help="a note for the run's line (a quick run says so)")
    args = ap.parse_args()

    bench = Bench(args)
    print("bench: onnx: checking that Keel and ONNX Runtime agree", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="keel-bench-onnx-") as work:
        agreement = bench.check(work)
    results = bench.measure()
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    ort_pkg = ROOT / "peers" / "node_modules" / "onnxruntime-node" / "package.json"
    meta = {
        "date": datetime.date.today().isoformat(),
        "cpu": re.search(r"Model name:\s*(.*)", cpu)[1].strip() + ", "
               + re.search(r"^CPU\(s\):\s*(\d+)", cpu, re.M)[1] + " CPUs",
        "ort": json.loads(ort_pkg.read_text())["version"],
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        "agreement": max(agreement.values()), "agreement_per_case": agreement,
        "rounds": args.rounds, "mode": args.mode,
        "load_before": args.load_before, "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    }
    summary = {}
    for model, _, _, batch, _ in MODELS:
        k, o = (statistics.median(results[f"{e} {model} {batch}"]) for e in ("keel", "ort"))
        summary[f"{model} {batch}"] = {"keel_us": k, "ort_us": o, "ratio": k / o, "target": TARGET,
                                       "met": k / o <= TARGET}
    for onnx, _, batch, _ in IDENTITIES:
        summary[f"{onnx} {batch}"] = {"ort_us": statistics.median(results[f"ort {onnx} {batch}"])}
    Path(args.results).write_text(json.dumps({"meta": meta, "summary": summary, "rounds": results}, indent=1) + "\n")
    replace_section(Path(args.readme), START, END, section(results, meta), "ONNX inference")


if __name__ == "__main__":
    main()
