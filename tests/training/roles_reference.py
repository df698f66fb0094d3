#!/usr/bin/python3
"""Independent NumPy reference (float64) for tests/training/roles_test.cpp:
a linear layer trained on the Huber loss with RMSprop, batches of 8 rows in
file order, and a guard that skips every step whose batch loss exceeds a
ceiling.

  roles_reference.py data DIR
      writes DIR/x.npy (f32 [24, 3]) and DIR/y.npy (f32 [24]); the second
      batch's targets are shifted by 20, so its loss stands out.
  roles_reference.py check DIR CEILING START.ckpt K=END.ckpt...
      replays the training from START's parameters and checks each END
      checkpoint against the reference after K steps: fit.weight, fit.bias
      and RMSprop's state optim.fit.weight.square_avg; `steps=STEPS.csv`
      checks every step's batch loss in a run's steps.csv. With a finite
      CEILING, steps whose loss exceeds it leave no trace; then
      DIR/out/anomalies.jsonl, when present, must name exactly those steps.

The formulas are torch's (torch.nn.functional.huber_loss, mean reduction;
torch.optim.RMSprop without momentum), written out here. Checkpoints are
read with json + struct following the safetensors layout. Exit status 0
means the check passed.
"""
import json
import os
import sys

import numpy as np

from safetensors_read import read_safetensors

LR, ALPHA, EPS, DELTA, BATCH = 0.01, 0.9, 1e-8, 1.0, 8


def make_data(d):
    rng = np.random.default_rng(11)
    x = rng.uniform(-2, 2, size=(24, 3)).astype(np.float32)
    y = (x @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.normal(0, 0.8, size=24)).astype(np.float32)
    y[8:16] += 20.0
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)


def huber(pred, target):
    d = pred - target
    a = np.abs(d)
    loss = np.where(a < DELTA, 0.5 * d * d, DELTA * (a - 0.5 * DELTA)).mean()
    slope = np.where(a < DELTA, d, DELTA * np.sign(d))
    return loss, slope / len(d)  # dloss/dpred


def replay(x, y, w, b, steps, ceiling):
    """Parameters, optimizer state and fired steps after each of `steps` steps."""
    sq_w, sq_b = np.zeros_like(w), np.zeros_like(b)
    batches = len(y) // BATCH
    states, fired = [], []
    for step in range(steps):
        lo = (step % batches) * BATCH
        xb, yb = x[lo:lo + BATCH], y[lo:lo + BATCH]
        loss, dpred = huber(xb @ w[0] + b[0], yb)
        if loss > ceiling:
            fired.append(step)  # skip_step: no update, no state change
        else:
            gw, gb = (dpred @ xb)[None, :], np.array([dpred.sum()])
            sq_w = ALPHA * sq_w + (1 - ALPHA) * gw * gw
            sq_b = ALPHA * sq_b + (1 - ALPHA) * gb * gb
            w = w - LR * gw / (np.sqrt(sq_w) + EPS)
            b = b - LR * gb / (np.sqrt(sq_b) + EPS)
        states.append((w, b, sq_w, loss))
    return states, fired


def close(name, got, want):
    err = np.abs(got - want)
    ok = bool(np.all(err <= 1e-6 + 1e-5 * np.abs(want)))
    print(f"{name}: max abs error {err.max():.3g}", "ok" if ok else "MISMATCH")
    if not ok:
        print("  got ", got.reshape(-1))
        print("  want", want.reshape(-1))
    return ok


def check(d, ceiling, start, ends):
    x = np.load(os.path.join(d, "x.npy")).astype(np.float64)
    y = np.load(os.path.join(d, "y.npy")).astype(np.float64)
    p0 = read_safetensors(start)
    pairs = [e.split("=", 1) for e in ends]
    csv = [path for k, path in pairs if k == "steps"]
    targets = {int(k): path for k, path in pairs if k != "steps"}
    states, fired = replay(x, y, p0["fit.weight"], p0["fit.bias"], max(targets), ceiling)
    ok = True
    for k, path in sorted(targets.items()):
        p = read_safetensors(path)
        w, b, sq_w, _ = states[k - 1]
        ok &= close(f"step {k} fit.weight", p["fit.weight"], w)
        ok &= close(f"step {k} fit.bias", p["fit.bias"], b)
        ok &= close(f"step {k} square_avg", p["optim.fit.weight.square_avg"], sq_w)
    for path in csv:  # steps.csv: every step's batch loss, skipped steps too
        got = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        ok &= close("steps.csv loss", got[:, 1], np.array([s[3] for s in states]))
    events = os.path.join(d, "out", "anomalies.jsonl")
    if np.isfinite(ceiling) and os.path.exists(events):
        seen = [json.loads(line) for line in open(events)]
        steps = [e["step"] for e in seen]
        print("fired at", fired, "anomalies.jsonl:", steps)
        ok &= steps == fired and all(e["node"] == "ceiling" and e["action"] == "skip_step" for e in seen)
        ok &= len(fired) > 0
    return ok


def main():
    if sys.argv[1] == "data":
        make_data(sys.argv[2])
        return 0
    if sys.argv[1] == "check":
        return 0 if check(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5:]) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
