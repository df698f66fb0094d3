"""Trains the VAE or the GAN of torch_models.py on the UCI digits, as
`keel run graphs/digits_vae.yaml` / `digits_gan.yaml` does, and writes
1000 samples and a JSON of what it measured.

  /usr/bin/python3 bench/generative/torch_train.py --model vae --steps 460 \
      --seed 7 --rows OUT/holdout/rows.npy --threads 2 --out DIR

--rows: the hold-out row indices a Keel run wrote (DIR/holdout/rows.npy),
so that both train on the same rows; without it the rows are split here
(20%, by --seed; not Keel's split).

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset and
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS = --threads (bench/run's torch_env;
quality.py and stability.py do this for it).

Timing (steps_per_s) covers the training loop only, as Keel's run.json
`seconds` does: every step, and after every epoch (and after a last partial
one) what `keel run` does there: the hold-out loss in evaluation mode, all
hold-out rows at once, and a checkpoint written (atomically, with fsync).
Data loading, model construction and sampling are outside the clock.

Steps: one step is one batch; for the GAN a discriminator update followed
by a generator update. Batches run through a shuffled epoch in order, the
last one shorter (1438 training rows = 22 x 64 + 30), as Keel's do.

Written to DIR: samples.npy [1000, 64] f32 in 0..1 (z ~ N(0, I), models in
evaluation mode), result.json (also printed).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import GAN, LATENT_GAN, LATENT_VAE, VAE  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIGITS = os.path.join(ROOT, "graphs", "data", "digits.csv")
BATCH = 64
SAMPLES = 1000


def load_split(csv, rows_file, seed, holdout=0.2):
    """(train x, hold-out x) as f32 tensors of pixels / 16."""
    table = np.loadtxt(csv, delimiter=",", dtype=np.float32)
    x = table[:, :64] / 16.0
    if rows_file:
        held = np.load(rows_file).astype(np.int64)
        if held.ndim != 1 or len(held) == 0 or held.min() < 0 or held.max() >= len(x):
            sys.exit(f"torch_train: {rows_file}: not hold-out row indices of {csv} ({len(x)} rows)")
    else:
        order = np.random.default_rng(seed).permutation(len(x))
        held = np.sort(order[len(x) - int(round(holdout * len(x))) :])
    keep = np.ones(len(x), bool)
    keep[held] = False
    return torch.from_numpy(x[keep].copy()), torch.from_numpy(x[held].copy())


def save_checkpoint(model, path):
    """What Keel does per epoch: the parameters to a temporary file, fsync,
    rename."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(model.state_dict(), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def lr_factor(step, args):
    return args.spike_factor if step == args.spike_step else 1.0


def set_lr(opt, base, factor):
    for group in opt.param_groups:
        group["lr"] = base * factor


@torch.no_grad()
def vae_holdout(model, hold):
    model.eval()
    loss = VAE.loss(*model(hold), hold).item()
    model.train()
    return loss


@torch.no_grad()
def gan_holdout(model, hold, gen):
    """The GAN's two losses on the hold-out rows, in evaluation mode."""
    model.eval()
    fake = model.G(torch.randn(len(hold), LATENT_GAN, generator=gen))
    d_real, d_fake = model.discriminate(hold, fake)
    d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
              + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    g_loss = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    model.train()
    return d_loss.item(), g_loss.item()


def train_vae(model, train, hold, args, ckpt, gen):
    lr = 1e-3 * args.lr_scale
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    done, last, holdout_loss = 0, {}, math.nan
    t0 = time.perf_counter()
    while done < args.steps:
        perm = torch.randperm(len(train), generator=gen)
        for lo in range(0, len(train), BATCH):
            if done == args.steps:
                break
            x = train[perm[lo : lo + BATCH]]
            set_lr(opt, lr, lr_factor(done, args))
            opt.zero_grad(set_to_none=False)
            eps = torch.randn(len(x), LATENT_VAE, generator=gen)
            loss = VAE.loss(*model(x, eps), x)
            loss.backward()
            opt.step()
            last = {"loss": loss.item()}
            done += 1
        if len(hold):
            holdout_loss = vae_holdout(model, hold)
        save_checkpoint(model, ckpt)
    secs = time.perf_counter() - t0
    return secs, last, {"holdout_elbo": -holdout_loss, "holdout_loss": holdout_loss}


def train_gan(model, train, hold, args, ckpt, gen):
    lr = 2e-4 * args.lr_scale
    opt_d = torch.optim.Adam(model.D.parameters(), lr=lr, betas=(0.5, 0.999), eps=1e-8)
    opt_g = torch.optim.Adam(model.G.parameters(), lr=lr, betas=(0.5, 0.999), eps=1e-8)
    done, last, held = 0, {}, {}
    t0 = time.perf_counter()
    while done < args.steps:
        perm = torch.randperm(len(train), generator=gen)
        for lo in range(0, len(train), BATCH):
            if done == args.steps:
                break
            real = train[perm[lo : lo + BATCH]]
            factor = lr_factor(done, args)
            set_lr(opt_d, lr, factor)
            set_lr(opt_g, lr, factor)
            # One generator pass per step; the discriminator step sees the
            # fakes detached, the generator step the same fakes attached.
            fake = model.G(torch.randn(len(real), LATENT_GAN, generator=gen))
            opt_d.zero_grad(set_to_none=False)
            d_real, d_fake = model.discriminate(real, fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            d_loss.backward()
            opt_d.step()
            # The updated D, re-run on both halves; only G's parameters move.
            opt_g.zero_grad(set_to_none=False)
            _, d_fake = model.discriminate(real, fake)
            g_loss = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
            g_loss.backward()
            opt_g.step()
            last = {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
            done += 1
        if len(hold):
            d, g = gan_holdout(model, hold, gen)
            held = {"holdout_d_loss": d, "holdout_g_loss": g}
        save_checkpoint(model, ckpt)
    secs = time.perf_counter() - t0
    return secs, last, held


def non_finite(model):
    """Names of parameters and buffers holding a NaN or an infinity."""
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    return [n for n, t in tensors if t.is_floating_point() and not torch.isfinite(t).all()]


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["vae", "gan"], required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", help="hold-out row indices (Keel's DIR/holdout/rows.npy)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True, help="folder for samples.npy, result.json, model.pt")
    ap.add_argument("--data", default=DIGITS)
    ap.add_argument("--lr-scale", type=float, default=1.0, help="multiply the learning rates by K")
    ap.add_argument("--no-batchnorm", action="store_true", help="GAN: no batchnorm in the generator")
    ap.add_argument("--spike-step", type=int, default=-1, help="step (from 0) whose lr is multiplied")
    ap.add_argument("--spike-factor", type=float, default=1.0, help="lr factor at --spike-step")
    ap.add_argument("--samples", type=int, default=SAMPLES)
    args = ap.parse_args(argv)
    if args.steps < 1:
        ap.error("--steps must be >= 1")
    if args.no_batchnorm and args.model != "gan":
        ap.error("--no-batchnorm applies to the GAN only")
    return args


def main(argv=None):
    args = parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    train, hold = load_split(args.data, args.rows, args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    ckpt = os.path.join(args.out, "model.pt")
    if args.model == "vae":
        model = VAE()
        secs, last, extra = train_vae(model, train, hold, args, ckpt, gen)
    else:
        model = GAN(batchnorm=not args.no_batchnorm)
        secs, last, extra = train_gan(model, train, hold, args, ckpt, gen)
    bad = non_finite(model)
    z = torch.randn(args.samples, LATENT_VAE if args.model == "vae" else LATENT_GAN,
                    generator=torch.Generator().manual_seed(args.seed + 1))
    samples = model.sample(z).numpy().astype(np.float32)
    np.save(os.path.join(args.out, "samples.npy"), samples)
    result = {
        "model": args.model, "steps": args.steps, "seed": args.seed, "threads": args.threads,
        "seconds": secs, "steps_per_s": args.steps / secs,
        "train_rows": len(train), "holdout_rows": len(hold), "rows_from": args.rows or "own split",
        "final": last, **extra,
        "non_finite": bool(bad), "non_finite_tensors": bad,
        "lr_scale": args.lr_scale, "batchnorm": not args.no_batchnorm,
        "spike_step": args.spike_step, "spike_factor": args.spike_factor,
        "torch": torch.__version__,
    }
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
