"""Compares a model's outputs between runs, for tests/onnx.

usage: compare_outputs.py TOLERANCE NAMES FIRST SECOND... [--min-rows N]

FIRST is a folder of NAME.npy files (what `keel run` writes) or the JSON
tests/onnx/ort_run.js prints ({name: {dims, data}}, which must hold exactly
NAMES); each SECOND is a folder of NAME.npy. For every name in NAMES (comma
separated) and every SECOND: equal shapes, and max |first - second| /
max(1, max |second|) <= TOLERANCE. Exit 1 with the first difference.
Run with /usr/bin/python3 (numpy).
"""
import json
import sys
from pathlib import Path

import numpy as np


def load_first(path, names):
    p = Path(path)
    if p.is_dir():
        return {k: np.load(p / f"{k}.npy") for k in names}
    o = json.loads(p.read_text())
    assert set(o) == set(names), (sorted(o), names)
    return {k: np.array(v["data"], np.float32).reshape(v["dims"]) for k, v in o.items()}


def main():
    args = sys.argv[1:]
    min_rows = 0
    if "--min-rows" in args:
        i = args.index("--min-rows")
        min_rows = int(args[i + 1])
        del args[i : i + 2]
    tolerance, names, first, seconds = float(args[0]), args[1].split(","), args[2], args[3:]
    assert seconds, "no SECOND folder"
    a = load_first(first, names)
    for run in seconds:
        for k in names:
            b = np.load(Path(run) / f"{k}.npy")
            assert a[k].shape == b.shape, (k, run, a[k].shape, b.shape)
            assert b.shape[0] >= min_rows, (k, b.shape)
            d = float(np.abs(a[k] - b).max() / max(1.0, float(np.abs(b).max())))
            assert d <= tolerance, (k, run, d)


if __name__ == "__main__":
    main()
