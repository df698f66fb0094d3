#!/usr/bin/python3
"""Independent checks for the anomaly tests, in Python's json and NumPy.

  anomaly_reference.py report FILE
      parses every line of a guard report with json.loads, checks the keys
      and types, and prints one line per event:
      STEP NODE CHECK ACTION SCORE THRESHOLD ROWS... [| PARAM...]
  anomaly_reference.py calibration DIGITS.csv HOLDOUT_PIXELS.npy CKPT NODE
      the per-feature mean, std (population; 1 where it is 0), min and max of
      the training rows (every row of the CSV not in the hold-out file) must
      match NODE.mean/.std/.min/.max in CKPT.
  anomaly_reference.py finite CKPT
      exit 0 when every tensor in CKPT is finite, 1 otherwise.
  anomaly_reference.py linreg DATA_DIR START END LR[,LR...]
      replays full-batch gradient descent on the diabetes data from START's
      parameters, one update per listed learning rate, and compares with END.

Checkpoints are read with json + struct following the safetensors layout
(tests/training/safetensors_read.py, shared with the training references).
Exit status 0 means the check passed.
"""
import json
import math
import os
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from safetensors_read import read_safetensors  # noqa: E402


def report(path):
    for number, line in enumerate(open(path), 1):
        e = json.loads(line)
        for key, kind in (("step", int), ("node", str), ("op", str), ("check", str), ("action", str)):
            assert isinstance(e[key], kind), (number, key, e)
        for key in ("score", "threshold"):
            assert e[key] is None or isinstance(e[key], (int, float)), (number, key, e)
        rows = e.get("rows", [])
        assert all(isinstance(r, int) and r >= 0 for r in rows), (number, e)
        params = e.get("parameters", [])
        for p in params:
            assert isinstance(p["name"], str) and (p["norm"] is None or isinstance(p["norm"], (int, float)))
        norms = [math.inf if p["norm"] is None else p["norm"] for p in params]
        assert norms == sorted(norms, reverse=True), (number, "parameters not largest first", e)
        fields = [str(e["step"]), e["node"], e["check"], e["action"], repr(e["score"]), repr(e["threshold"])]
        fields += [str(r) for r in rows]
        if params:
            fields += ["|"] + [p["name"] for p in params]
        print(" ".join(fields))
    return 0


def calibration(csv, holdout, ckpt, node):
    data = np.loadtxt(csv, delimiter=",", dtype=np.float64) if "," in open(csv).readline() else np.loadtxt(csv)
    pixels = data[:, :64].astype(np.float32)
    held = Counter(map(bytes, np.load(holdout).astype(np.float32)))
    train = []
    for row in pixels:
        key = bytes(row)
        if held[key]:
            held[key] -= 1
        else:
            train.append(row)
    train = np.array(train, dtype=np.float64)
    assert sum(held.values()) == 0, "hold-out rows missing from the data"
    std = train.std(axis=0)
    want = {"mean": train.mean(axis=0), "std": np.where(std > 0, std, 1.0), "min": train.min(axis=0),
            "max": train.max(axis=0)}
    got = read_safetensors(ckpt)
    ok = True
    for k, w in want.items():
        g = got[node + "." + k]
        err = np.abs(g - w).max()
        good = np.allclose(g, w, rtol=1e-5, atol=1e-5)
        print(f"{node}.{k}: {len(train)} training rows, max abs error {err:.3g}", "ok" if good else "MISMATCH")
        ok = ok and good
    return 0 if ok else 1


def finite(ckpt):
    tensors = read_safetensors(ckpt)
    bad = {k: int((~np.isfinite(v)).sum()) for k, v in tensors.items() if not np.all(np.isfinite(v))}
    print("non-finite:", bad if bad else "none")
    return 1 if bad else 0


def linreg(data_dir, start, end, lrs):
    x = np.loadtxt(os.path.join(data_dir, "diabetes_data_raw.csv")).astype(np.float32).astype(np.float64)
    y = np.loadtxt(os.path.join(data_dir, "diabetes_target.csv")).astype(np.float32).astype(np.float64)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    p0 = read_safetensors(start)
    p1 = read_safetensors(end)
    w, b = p0["fit.weight"].reshape(-1), p0["fit.bias"][0]
    m = len(y)
    for lr in lrs:
        e = x @ w + b - y
        w, b = w - lr * (2.0 / m) * (x.T @ e), b - lr * (2.0 / m) * e.sum()
    gw, gb = p1["fit.weight"].reshape(-1), p1["fit.bias"][0]
    ok = np.allclose(gw, w, rtol=1e-4, atol=1e-3) and abs(gb - b) <= 1e-3 + 1e-4 * abs(b)
    print(f"{len(lrs)} updates: weight max abs error {np.abs(gw - w).max():.3g}, bias error {abs(gb - b):.3g}",
          "ok" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "report":
        sys.exit(report(*args))
    if cmd == "calibration":
        sys.exit(calibration(*args))
    if cmd == "finite":
        sys.exit(finite(*args))
    if cmd == "linreg":
        sys.exit(linreg(args[0], args[1], args[2], [float(v) for v in args[3].split(",") if v]))
    sys.exit("unknown command " + cmd)
