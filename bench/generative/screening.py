"""Screening with the VAE (graphs/digits_vae_screen.yaml): the share of
images flagged, for the genuine hold-out images and for corrupted copies of
them, per training seed.

  /usr/bin/python3 bench/generative/screening.py [--seeds 1,2,3] [--threads 2] [--out DIR]

Per seed: `keel run graphs/digits_vae.yaml` trains the VAE and calibrates
its screen (the mean and std of the training rows' reconstruction errors
under the trained model, in the checkpoint); then the screening graph runs
on the hold-out images and on five corrupted versions of them, made here
with NumPy: uniform noise over 0..16, inverted (16 - x), shifted right by
1 and by 3 pixels (zeros enter), and a 50/50 blend with uniform noise.
Writes DIR/screening.json and DIR/screening.md.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from digit_score import ROOT  # noqa: E402

TRAIN = os.path.join(ROOT, "graphs", "digits_vae.yaml")
SCREEN = os.path.join(ROOT, "graphs", "digits_vae_screen.yaml")
KINDS = ["hold-out", "noise", "inverted", "shifted 1", "shifted 3", "blended 50/50"]


def shifted(x, k):
    img = x.reshape(-1, 8, 8)
    out = np.zeros_like(img)
    out[:, :, k:] = img[:, :, :-k]
    return out.reshape(-1, 64)


def corrupted(hold, seed):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 16, hold.shape)
    return {
        "hold-out": hold,
        "noise": noise,
        "inverted": 16 - hold,
        "shifted 1": shifted(hold, 1),
        "shifted 3": shifted(hold, 3),
        "blended 50/50": 0.5 * hold + 0.5 * rng.uniform(0, 16, hold.shape),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "generative", "screening"))
    ap.add_argument("--keel", default=None)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {k: [] for k in KINDS}
    for seed in seeds:
        run = os.path.join(args.out, f"seed-{seed}")
        common.keel_run(TRAIN, run, args.threads, [f"seed={seed}", "train.report=false"], keel=args.keel)
        hold = np.load(os.path.join(run, "holdout", "pixels.npy")).astype(np.float64)
        for kind, x in corrupted(hold, seed).items():
            name = kind.replace(" ", "_").replace("/", "-")
            path = os.path.join(run, f"{name}.npy")
            np.save(path, x.astype(np.float32))
            out = os.path.join(run, "screen", name)
            common.keel_run(SCREEN, out, args.threads, [],
                            extra=["--params", os.path.join(run, "vae.ckpt"), "--input", f"pixels={path}"],
                            keel=args.keel)
            mask = np.load(os.path.join(out, "recon_check.mask.npy"))
            results[kind].append(float(np.mean(mask != 0)))
            print(f"screening: seed {seed}, {kind}: {results[kind][-1]:.1%} flagged", file=sys.stderr)
    lines = [f"VAE screen (threshold 3 std above the training rows' mean reconstruction error); "
             f"seeds {args.seeds}, {len(hold)} hold-out images each.", "",
             "| images | flagged, mean over seeds | lowest | highest |", "|---|---|---|---|"]
    for kind in KINDS:
        v = results[kind]
        lines.append(f"| {kind} | {np.mean(v):.1%} | {min(v):.1%} | {max(v):.1%} |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "screening.json"), "w") as f:
        json.dump({"seeds": seeds, "flagged": results}, f, indent=1)
    with open(os.path.join(args.out, "screening.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
