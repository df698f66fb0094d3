#!/usr/bin/python3
"""NumPy side of tests/training/generative_pipelines_test.cpp: the data the
screening test feeds and the checks of what Keel wrote, computed here.

  generative_reference.py corrupt HOLDOUT.npy DIR
      writes DIR/{noise,inverted,shifted,blended}.npy from the hold-out
      images (values 0..16): uniform noise, 16 - x, shifted right by 3
      pixels (zeros enter), and a 50/50 blend with uniform noise.
  generative_reference.py training_rows CSV ROWS.npy OUT.npy
      writes the training rows' pixels (every row of CSV not in ROWS).
  generative_reference.py calibration CKPT ERRORS.npy
      checks that the checkpoint's recon_check.mean and .std are the mean
      and population std of ERRORS (the trained model's per-row errors).
  generative_reference.py flagged MASK.npy
      prints the share of rows flagged (mask != 0).
  generative_reference.py samples SAMPLES.npy N
      checks N finite samples of 64 values in [0, 1].
  generative_reference.py blanked SAMPLES.npy N
      checks N samples of 64 values, every one -1 (blanked by a guard).
"""
import sys

import numpy as np

from safetensors_read import read_safetensors


def corrupt(holdout, d):
    x = np.load(holdout).astype(np.float64)
    rng = np.random.default_rng(3)
    img = x.reshape(-1, 8, 8)
    shifted = np.zeros_like(img)
    shifted[:, :, 3:] = img[:, :, :-3]
    sets = {
        "noise": rng.uniform(0, 16, x.shape),
        "inverted": 16 - x,
        "shifted": shifted.reshape(-1, 64),
        "blended": 0.5 * x + 0.5 * rng.uniform(0, 16, x.shape),
    }
    for name, v in sets.items():
        np.save(f"{d}/{name}.npy", v.astype(np.float32))
    return True


def training_rows(csv, rows, out):
    data = np.loadtxt(csv, delimiter=",", dtype=np.float64)
    held = set(np.load(rows).tolist())
    keep = [i for i in range(len(data)) if i not in held]
    np.save(out, data[keep, :64].astype(np.float32))
    return True


def calibration(ckpt, errors):
    p = read_safetensors(ckpt)
    e = np.load(errors).astype(np.float64).reshape(-1)
    mean, std = e.mean(), e.std()
    got_mean, got_std = p["recon_check.mean"][0], p["recon_check.std"][0]
    print(f"mean {got_mean} (numpy {mean}), std {got_std} (numpy {std})")
    return abs(got_mean - mean) <= 1e-5 * abs(mean) + 1e-6 and abs(got_std - std) <= 1e-4 * std + 1e-6


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "corrupt":
        return 0 if corrupt(*args) else 1
    if cmd == "training_rows":
        return 0 if training_rows(*args) else 1
    if cmd == "calibration":
        return 0 if calibration(*args) else 1
    if cmd == "flagged":
        print(f"{float(np.mean(np.load(args[0]) != 0)):.4f}")
        return 0
    if cmd == "samples":
        s = np.load(args[0])
        ok = s.shape == (int(args[1]), 64) and bool(np.all(np.isfinite(s))) and s.min() >= 0 and s.max() <= 1
        print("samples", s.shape, "ok" if ok else "BAD")
        return 0 if ok else 1
    if cmd == "blanked":
        s = np.load(args[0])
        ok = s.shape == (int(args[1]), 64) and bool(np.all(s == -1))
        print("blanked", s.shape, "ok" if ok else "BAD")
        return 0 if ok else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
