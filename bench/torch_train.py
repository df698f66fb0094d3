"""The training benchmarks' models in PyTorch eager mode, for steps/s.

flagship: graphs/digits_train.yaml — pixels/16 -> Linear(64,128) ->
  BatchNorm1d -> ReLU -> Linear(128,128) -> BatchNorm1d -> ReLU -> + skip ->
  Linear(128,10), cross entropy, SGD lr 0.05 momentum 0.9 weight decay 1e-4,
  gradient norm clipped to 5, batch 64, 20% of the rows held out.
large: bench/graphs/large_train.yaml — 4 residual blocks
  x + ReLU(BatchNorm1d(Linear(512,512) x)) on [256, 512] batches, then
  Linear(512,10); same loss and optimizer; no hold-out.

Runs exactly --steps steps (Keel's count) and times the training loop only:
data loading and model construction are outside the clock. The loop does
the work `keel run`'s does: after every epoch it evaluates, in inference
mode and all rows at once, the hold-out split (loss and accuracy) and the
train split (accuracy). Prints JSON: the rate, the last step's loss and the
last evaluation (to check the model trains), and the BLAS libraries the
process has mapped (bench/run checks it runs the OpenBLAS it asked for).
"""
import argparse
import json
import time

import numpy as np
import torch
from torch import nn


class Flagship(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(64, 128), nn.BatchNorm1d(128)
        self.fc2, self.bn2 = nn.Linear(128, 128), nn.BatchNorm1d(128)
        self.head = nn.Linear(128, 10)

    def forward(self, pixels):
        a1 = torch.relu(self.bn1(self.fc1(pixels * 0.0625)))
        a2 = torch.relu(self.bn2(self.fc2(a1)))
        return self.head(a2 + a1)


class Large(nn.Module):
    def __init__(self, width=512, blocks=4):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.bns = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(blocks))
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        for fc, bn in zip(self.fcs, self.bns):
            x = x + torch.relu(bn(fc(x)))
        return self.head(x)


def flagship_data(csv):
    rows = np.loadtxt(csv, delimiter=",", dtype=np.float32)
    order = np.random.default_rng(7).permutation(len(rows))
    held = int(round(0.2 * len(rows)))
    train, hold = order[: len(rows) - held], order[len(rows) - held :]
    x, y = torch.from_numpy(rows[:, :64].copy()), torch.from_numpy(rows[:, 64].astype(np.int64))
    return (x[train], y[train]), (x[hold], y[hold]), 64


def large_data(folder):
    x = torch.from_numpy(np.load(f"{folder}/x.npy"))
    y = torch.from_numpy(np.load(f"{folder}/label.npy"))
    return (x, y), None, 256


def train(model, data, holdout, batch, steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data
    gen = torch.Generator().manual_seed(7)
    done = 0
    last = {}
    t0 = time.perf_counter()
    while done < steps:
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for lo in range(0, len(x), batch):
            if done == steps:
                break
            idx = perm[lo : lo + batch]
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            last["loss"] = loss.detach()
            done += 1
        model.eval()
        with torch.no_grad():
            if holdout is not None:
                scores = model(holdout[0])
                last["holdout_loss"] = loss_fn(scores, holdout[1]).item()
                last["holdout_accuracy"] = (scores.argmax(1) == holdout[1]).float().mean().item()
            last["train_accuracy"] = (model(x).argmax(1) == y).float().mean().item()
    secs = time.perf_counter() - t0
    last["loss"] = last["loss"].item()
    return secs, last


def mapped_blas():
    """Every mapped file whose name says BLAS: which OpenBLAS build (pthread
    or OpenMP) the dynamic linker picked for this process."""
    with open("/proc/self/maps") as maps:
        paths = {line[line.index("/"):].strip() for line in maps if "/" in line}
    return sorted(p for p in paths if "blas" in p.rsplit("/", 1)[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["flagship", "large"])
    ap.add_argument("--data", required=True, help="digits.csv (flagship) or the folder of x.npy, label.npy (large)")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    if args.model == "flagship":
        model, (data, holdout, batch) = Flagship(), flagship_data(args.data)
    else:
        model, (data, holdout, batch) = Large(), large_data(args.data)
    secs, last = train(model, data, holdout, batch, args.steps)
    print(json.dumps({"steps": args.steps, "seconds": secs, "steps_per_s": args.steps / secs,
                      "threads": args.threads, **last, "blas": mapped_blas()}))


if __name__ == "__main__":
    main()
