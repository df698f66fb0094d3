"""What quality.py and stability.py share: running `keel run` and
torch_train.py in the environments bench/run gives them, and reading what
a Keel training run recorded."""
import json
import os
import subprocess
import sys

from digit_score import ROOT, keel_binary

PY = "/usr/bin/python3"  # Debian's, with numpy and torch
TORCH_TRAIN = os.path.join(ROOT, "bench", "generative", "torch_train.py")
SPLIT_GRAPH = os.path.join(ROOT, "graphs", "digits_train.yaml")


def keel_env(threads):
    return dict(os.environ, OMP_NUM_THREADS=str(threads))


def torch_env(threads):
    # As bench/run: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set on these
    # machines for old OpenBLAS bugs and slow a current one down.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    return env


def keel_run(graph, out, threads, sets=(), extra=(), keel=None, check=True):
    """`keel run GRAPH -o OUT --threads T --set ...`; returns the process.
    With check, a failure ends the script with keel's message."""
    cmd = [keel or keel_binary(), "run", graph, "-o", out, "--threads", str(threads), "-q", *extra]
    for s in sets:
        cmd += ["--set", s]
    done = subprocess.run(cmd, capture_output=True, text=True, env=keel_env(threads))
    if check and done.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nfailed (exit {done.returncode}): {done.stderr.strip()}")
    return done


def keel_split(out, seed, threads, keel=None):
    """Keel's hold-out rows for `seed` without training anything: the
    flagship graph with train.steps=0 splits digits.csv exactly as any
    graph reading it with holdout 0.2 and that seed does."""
    rows = os.path.join(out, "holdout", "rows.npy")
    if not os.path.isfile(rows):
        keel_run(SPLIT_GRAPH, out, threads, [f"seed={seed}", "train.steps=0", "train.report=false"], keel=keel)
    return rows


def keel_record(out):
    """(steps trained by this run, steps/s, last hold-out loss or None) from
    OUT/run.json and OUT/metrics.jsonl."""
    with open(os.path.join(out, "run.json")) as f:
        run = json.load(f)
    steps = run["steps"] - run.get("first_step", 0)
    holdout = None
    metrics = os.path.join(out, run.get("metrics") or "metrics.jsonl")
    if os.path.isfile(metrics):
        with open(metrics) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if lines and "holdout_loss" in lines[-1]:
            # Keel writes a non-finite loss as null.
            v = lines[-1]["holdout_loss"]
            holdout = float("nan") if v is None else v
    return steps, steps / run["seconds"], holdout


def torch_train(model, steps, seed, threads, out, rows=None, options=()):
    """Runs torch_train.py; returns its result JSON."""
    cmd = [PY, TORCH_TRAIN, "--model", model, "--steps", str(steps), "--seed", str(seed),
           "--threads", str(threads), "--out", out, *options]
    if rows:
        cmd += ["--rows", rows]
    done = subprocess.run(cmd, capture_output=True, text=True, env=torch_env(threads))
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nfailed (exit {done.returncode}): {done.stderr.strip()}")
    with open(os.path.join(out, "result.json")) as f:
        return json.load(f)
