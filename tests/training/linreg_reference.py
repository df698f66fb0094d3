#!/usr/bin/python3
"""Independent reference for graphs/linear_regression.yaml, in NumPy (float64).

  linreg_reference.py steps DATA_DIR START.ckpt END.ckpt N
      replays N steps of the brief's gradient descent from START's parameters
      (START `zeros`: from zero weights and bias, as the brief starts) and
      checks END's parameters against them.
  linreg_reference.py converged DATA_DIR END.ckpt
      checks END's model against the closed-form least-squares solution.

Checkpoints are read with json + struct following the safetensors layout,
not with Keel's reader. Exit status 0 means the check passed.
"""
import os
import sys

import numpy as np

from safetensors_read import read_safetensors


def data(data_dir):
    x = np.loadtxt(os.path.join(data_dir, "diabetes_data_raw.csv")).astype(np.float32).astype(np.float64)
    y = np.loadtxt(os.path.join(data_dir, "diabetes_target.csv")).astype(np.float32).astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    return (x - mean) / std, y


def check(name, got, want, rtol, atol):
    err = np.abs(got - want)
    ok = np.all(err <= atol + rtol * np.abs(want))
    print(f"{name}: max abs error {err.max():.3g}", "ok" if ok else "MISMATCH")
    if not ok:
        print("got ", got)
        print("want", want)
    return ok


def steps(data_dir, start, end, n):
    x, y = data(data_dir)
    p1 = read_safetensors(end)
    if start == "zeros":
        w, b = np.zeros(x.shape[1]), 0.0
    else:
        p0 = read_safetensors(start)
        w, b = p0["fit.weight"].reshape(-1), p0["fit.bias"][0]
    lr, m = 0.05, len(y)
    for _ in range(n):
        e = x @ w + b - y
        w = w - lr * (2.0 / m) * (x.T @ e)  # the brief's update with lr 0.1 on half the MSE
        b = b - lr * (2.0 / m) * e.sum()
    # f32 arithmetic in the engine vs float64 here over N steps.
    ok = check("weight", p1["fit.weight"].reshape(-1), w, 1e-4, 1e-3)
    ok &= check("bias", p1["fit.bias"], np.array([b]), 1e-4, 1e-3)
    ok &= check("standardize mean", p1["scaled.mean"], np.loadtxt(os.path.join(data_dir, "diabetes_data_raw.csv")).mean(axis=0), 1e-5, 1e-5)
    return ok


def converged(data_dir, end):
    x, y = data(data_dir)
    p = read_safetensors(end)
    a = np.hstack([x, np.ones((len(y), 1))])
    theta, *_ = np.linalg.lstsq(a, y, rcond=None)
    pred_closed = a @ theta
    pred = x @ p["fit.weight"].reshape(-1) + p["fit.bias"][0]
    mse_closed = np.mean((pred_closed - y) ** 2)
    mse = np.mean((pred - y) ** 2)
    r2 = 1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)
    print(f"mse {mse:.4f} vs closed form {mse_closed:.4f}; R^2 {r2:.4f}")
    # Gradient descent approaches the optimum along the data's well-conditioned
    # directions quickly and along the near-collinear ones (s1, s2) slowly:
    # the objective is what converges, so that is what is compared.
    ok = abs(mse - mse_closed) <= 1e-3 * mse_closed
    ok &= check("predictions", pred, pred_closed, 0.0, 2.0)
    return ok


if __name__ == "__main__":
    if sys.argv[1] == "steps":
        sys.exit(0 if steps(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])) else 1)
    sys.exit(0 if converged(sys.argv[2], sys.argv[3]) else 1)
