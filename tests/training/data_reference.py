#!/usr/bin/python3
"""Independent checks, in NumPy, of what `keel run` wrote for a training graph
whose data is a CSV file with a header row (read here with np.genfromtxt).

  data_reference.py holdout CSV OUT FRACTION CKPT
      OUT/holdout/rows.npy holds round(FRACTION * rows) distinct row indices
      (i64, ascending) and OUT/holdout/{x,y}.npy are exactly those rows
      (x: every column but the last, y: the last); the node `scaled`, a
      standardize calibrated on the training rows, has in CKPT the mean of
      exactly the other rows.
  data_reference.py rows CSV OUT
      OUT/holdout/{x,y}.npy are all the rows of CSV (a separate hold-out file).

Exit status 0 means the check passed.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linreg_reference import read_safetensors  # noqa: E402


def table(csv):
    # utf-8-sig drops the byte order mark spreadsheets write.
    return np.genfromtxt(csv, delimiter=",", skip_header=1, encoding="utf-8-sig", dtype=np.float64)


def same(name, got, want):
    ok = got.shape == want.shape and np.array_equal(got, want)
    print(f"{name}: {'ok' if ok else 'MISMATCH'} {got.shape} vs {want.shape}")
    if not ok:
        print("got ", got)
        print("want", want)
    return ok


def check_rows(d, out, rows):
    x = np.load(os.path.join(out, "holdout", "x.npy"))
    y = np.load(os.path.join(out, "holdout", "y.npy"))
    ok = same("x", x, d[rows, :-1].astype(np.float32))
    ok &= same("y", y, d[rows, -1].astype(np.int32))
    return ok


def holdout(csv, out, fraction, ckpt):
    d = table(csv)
    rows = np.load(os.path.join(out, "holdout", "rows.npy"))
    n = len(d)
    want = math.floor(fraction * n + 0.5)
    ok = rows.dtype == np.int64 and rows.ndim == 1 and len(rows) == want
    ok &= bool(np.all(np.diff(rows) > 0)) and bool(np.all((rows >= 0) & (rows < n)))
    train = np.setdiff1d(np.arange(n), rows)
    ok &= len(train) == n - want
    print(f"rows: {rows.tolist()} ({'ok' if ok else 'MISMATCH'}; want {want} of {n})")
    mean = read_safetensors(ckpt)["scaled.mean"]
    want_mean = d[train, :-1].astype(np.float32).astype(np.float64).mean(axis=0)
    trained_on_the_rest = np.allclose(mean, want_mean, rtol=1e-5)
    print(f"training rows' mean: {'ok' if trained_on_the_rest else 'MISMATCH'} {mean} vs {want_mean}")
    return ok and trained_on_the_rest and check_rows(d, out, rows)


if __name__ == "__main__":
    if sys.argv[1] == "holdout":
        sys.exit(0 if holdout(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]) else 1)
    d = table(sys.argv[2])
    sys.exit(0 if check_rows(d, sys.argv[3], np.arange(len(d))) else 1)
