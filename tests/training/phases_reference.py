#!/usr/bin/python3
"""Independent PyTorch reference (float64) for tests/training/phases_test.cpp:
a two-layer model trained with two objectives, each over its own
parameters, in order on every batch:

  phase "head": mse(pred, y) over b.weight, b.bias with Adam (lr 0.05)
  phase "body": mse(pred, y2) over a.*, bn.gamma, bn.beta with SGD (lr
                0.1, momentum 0.9), twice per batch (repeat: 2)

pred = b(tanh(bn(a(x)))), batches of 8 rows in file order, bn a batch norm
in training mode. The body phase runs forward again with the head's new
parameters; the batch norm's running statistics are updated once per step,
by its first pass (later passes restore them). Written with torch.optim, not
Keel's formulas.

  phases_reference.py data DIR
      writes DIR/x.npy (f32 [24, 3]), DIR/y.npy and DIR/y2.npy (f32 [24])
  phases_reference.py frozen START.ckpt END.ckpt
      checks that b.* (the head, whose every step a guard skipped) did
      not change and a.* (the body) did.
  phases_reference.py check DIR START.ckpt K=END.ckpt...
      replays K steps from START's parameters (a run with train.steps=0)
      and compares every parameter and optimizer state tensor with END's.
Exit status 0 means the check passed.
"""
import os
import sys

import numpy as np
import torch

from safetensors_read import read_safetensors

BATCH = 8


def make_data(d):
    rng = np.random.default_rng(23)
    x = rng.uniform(-2, 2, size=(24, 3)).astype(np.float32)
    y = (np.sin(x @ np.array([1.0, -0.5, 0.25])) + rng.normal(0, 0.1, size=24)).astype(np.float32)
    y2 = (0.5 * x[:, 0] - x[:, 2]).astype(np.float32)
    for name, a in (("x", x), ("y", y), ("y2", y2)):
        np.save(os.path.join(d, name + ".npy"), a)


def replay(d, p0, steps):
    x, y, y2 = (torch.tensor(np.load(os.path.join(d, n + ".npy")), dtype=torch.float64) for n in ("x", "y", "y2"))
    a = torch.nn.Linear(3, 4).double()
    bn = torch.nn.BatchNorm1d(4).double()
    b = torch.nn.Linear(4, 1).double()
    with torch.no_grad():
        for layer, name in ((a, "a"), (b, "b")):
            layer.weight.copy_(torch.tensor(p0[name + ".weight"]))
            layer.bias.copy_(torch.tensor(p0[name + ".bias"]))
        bn.weight.copy_(torch.tensor(p0["bn.gamma"]))
        bn.bias.copy_(torch.tensor(p0["bn.beta"]))
        bn.running_mean.copy_(torch.tensor(p0["bn.running_mean"]))
        bn.running_var.copy_(torch.tensor(p0["bn.running_var"]))
    head = torch.optim.Adam(b.parameters(), lr=0.05)
    body = torch.optim.SGD(list(a.parameters()) + list(bn.parameters()), lr=0.1, momentum=0.9)
    batches = len(y) // BATCH
    out = []
    for step in range(steps):
        lo = (step % batches) * BATCH
        xb, yb, y2b = x[lo:lo + BATCH], y[lo:lo + BATCH], y2[lo:lo + BATCH]
        first = True
        for opt, target, repeat in ((head, yb, 1), (body, y2b, 2)):
            for _ in range(repeat):
                for m in (a, bn, b):
                    m.zero_grad()
                kept = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
                pred = b(torch.tanh(bn(a(xb)))).reshape(-1)
                torch.nn.functional.mse_loss(pred, target).backward()
                if not first:  # one running-statistics update per step
                    with torch.no_grad():
                        bn.running_mean.copy_(kept[0])
                        bn.running_var.copy_(kept[1])
                        bn.num_batches_tracked.copy_(kept[2])
                first = False
                opt.step()
        state = {"a.weight": a.weight, "a.bias": a.bias, "b.weight": b.weight, "b.bias": b.bias,
                 "bn.gamma": bn.weight, "bn.beta": bn.bias, "bn.running_mean": bn.running_mean,
                 "bn.running_var": bn.running_var}
        for p, name in ((b.weight, "b.weight"), (b.bias, "b.bias")):
            state[f"optim.{name}.exp_avg"] = head.state[p]["exp_avg"]
            state[f"optim.{name}.exp_avg_sq"] = head.state[p]["exp_avg_sq"]
        for p, name in ((a.weight, "a.weight"), (a.bias, "a.bias"), (bn.weight, "bn.gamma"), (bn.bias, "bn.beta")):
            state[f"optim.{name}.momentum_buffer"] = body.state[p]["momentum_buffer"]
        out.append({k: v.detach().numpy().copy() for k, v in state.items()})
    return out


def check(d, start, ends):
    targets = {int(k): path for k, path in (e.split("=", 1) for e in ends)}
    states = replay(d, read_safetensors(start), max(targets))
    ok = True
    for k, path in sorted(targets.items()):
        got = read_safetensors(path)
        for name, want in states[k - 1].items():
            g = got[name].reshape(want.shape)
            err = np.abs(g - want)
            good = bool(np.all(err <= 1e-6 + 1e-5 * np.abs(want)))
            print(f"step {k} {name}: max abs error {err.max():.3g}", "ok" if good else "MISMATCH")
            ok &= good
    return ok


def frozen(start, end):
    p0, p1 = read_safetensors(start), read_safetensors(end)
    same = all(np.array_equal(p0[n], p1[n]) for n in ("b.weight", "b.bias"))
    moved = all(not np.array_equal(p0[n], p1[n]) for n in ("a.weight", "a.bias"))
    print("head unchanged:", same, "body moved:", moved)
    return same and moved


def main():
    if sys.argv[1] == "frozen":
        return 0 if frozen(sys.argv[2], sys.argv[3]) else 1
    if sys.argv[1] == "data":
        make_data(sys.argv[2])
        return 0
    if sys.argv[1] == "check":
        return 0 if check(sys.argv[2], sys.argv[3], sys.argv[4:]) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
