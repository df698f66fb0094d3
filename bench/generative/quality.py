"""Keel's generative models next to PyTorch's, in the same run: the VAE's
hold-out ELBO, the digit score of 1000 samples of each model, and training
steps/s, with ratios.

  /usr/bin/python3 bench/generative/quality.py [--steps N] [--seed S] [--threads T]
      [--rounds R] [--only keel|torch] [--out DIR]

Per model: `keel run GRAPH -o DIR/keel-MODEL --set seed=S` trains (steps
from the graph, or --steps as train.steps), the sampling graph draws 1000
images from its checkpoint, then torch_train.py trains the same model with
the steps Keel ran, the same seed, threads and hold-out rows (Keel's
holdout/rows.npy). With --rounds R > 1 the Keel and PyTorch runs alternate
R times (so load hits both alike); steps/s is the median, the quality
numbers are the first round's. Writes DIR/quality.json and DIR/quality.md.
--only torch runs the PyTorch side alone (the split still Keel's, from
the flagship graph with train.steps=0).
"""
import argparse
import json
import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import keel_ckpt  # noqa: E402
from digit_score import ROOT, classifier, score  # noqa: E402

# The Keel side; adjust here when the graphs change.
GRAPHS = os.path.join(ROOT, "graphs")
KEEL = {
    "vae": {"train": os.path.join(GRAPHS, "digits_vae.yaml"), "ckpt": "vae.ckpt",
            "sample": os.path.join(GRAPHS, "digits_vae_sample.yaml")},
    "gan": {"train": os.path.join(GRAPHS, "digits_gan.yaml"), "ckpt": "gan.ckpt",
            "sample": os.path.join(GRAPHS, "digits_gan_sample.yaml")},
}
NOISE_NODE = "z"          # the sampling graphs' noise node: --set z.count=N
SAMPLES_OUTPUT = "samples"  # their output: samples.npy, [N, 64] in 0..1
SAMPLES = 1000
# The model's own samples, as PyTorch's are: the sampling graphs' output
# guard (sample_check) would blank atypical ones; this limit flags only
# non-finite rows.
UNSCREENED = "sample_check.threshold=1e30"


def keel_side(model, args, out, sample_seed):
    g = KEEL[model]
    sets = [f"seed={args.seed}"] + ([f"train.steps={args.steps}"] if args.steps else [])
    common.keel_run(g["train"], out, args.threads, sets, keel=args.keel)
    steps, rate, holdout = common.keel_record(out)
    samples_dir = os.path.join(out, "samples")
    common.keel_run(g["sample"], samples_dir, args.threads,
                    [f"seed={sample_seed}", f"{NOISE_NODE}.count={SAMPLES}", UNSCREENED],
                    extra=["--params", os.path.join(out, g["ckpt"])], keel=args.keel)
    samples = np.load(os.path.join(samples_dir, SAMPLES_OUTPUT + ".npy"))
    return steps, rate, holdout, samples


def keel_params_in_torch(ckpt, rows):
    """Hold-out loss (negative ELBO) of Keel's trained VAE, computed by
    PyTorch on the same rows: checks Keel's own number independently."""
    import torch
    from torch_models import VAE
    from torch_train import DIGITS, load_split

    _, hold = load_split(DIGITS, rows, 0)
    model = keel_ckpt.load_into(VAE(), ckpt).eval()
    with torch.no_grad():
        return VAE.loss(*model(hold), hold).item()


def torch_side(model, args, out, steps, rows):
    r = common.torch_train(model, steps, args.seed, args.threads, out, rows)
    return r["steps_per_s"], r.get("holdout_loss"), np.load(os.path.join(out, "samples.npy"))


def measure(model, args, ckpt):
    """Both sides of one model: dict side -> {steps_per_s, holdout_loss, score}."""
    result = {}
    rates = {"keel": [], "torch": []}
    base = os.path.join(args.out, model)
    for r in range(args.rounds):
        steps, rows = args.steps, None
        if args.only != "torch":
            kdir = os.path.join(base, f"keel-{r}")
            steps, rate, holdout, samples = keel_side(model, args, kdir, args.seed + 1)
            rows = os.path.join(kdir, "holdout", "rows.npy")
            rates["keel"].append(rate)
            if r == 0:
                result["keel"] = {"steps": steps, "holdout_loss": holdout, "samples": samples}
                if model == "vae":
                    try:
                        result["keel"]["holdout_loss_by_torch"] = keel_params_in_torch(
                            os.path.join(kdir, KEEL[model]["ckpt"]), rows)
                    except ValueError as e:  # sealed, or other node names: no check, say why
                        result["keel"]["holdout_check_error"] = str(e)
                        print(f"quality: warning: Keel's VAE not evaluated by PyTorch: {e}", file=sys.stderr)
        if args.only != "keel":
            if rows is None or not os.path.isfile(rows):
                rows = common.keel_split(os.path.join(args.out, f"split-{args.seed}"), args.seed,
                                         args.threads, args.keel)
            if not steps:
                sys.exit("quality: --only torch needs --steps")
            rate, holdout, samples = torch_side(model, args, os.path.join(base, f"torch-{r}"), steps, rows)
            rates["torch"].append(rate)
            if r == 0:
                result["torch"] = {"steps": steps, "holdout_loss": holdout, "samples": samples}
    for side, v in result.items():
        v["steps_per_s"] = statistics.median(rates[side])
        v["steps_per_s_runs"] = rates[side]
        v["score"] = score(v.pop("samples"), ckpt, args.key_file, args.keel, args.threads)
    return result


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.1f}"


def report(all_results, args):
    lines = [f"steps: {args.steps or 'the graphs'}, seed {args.seed}, {args.threads} threads for both, "
             f"{args.rounds} round(s); {SAMPLES} samples per model.", "",
             "| model | measure | Keel | PyTorch | Keel / PyTorch |", "|---|---|---|---|---|"]
    for model, res in all_results.items():
        k, t = res.get("keel"), res.get("torch")

        def row(name, get, ratio):
            kv = get(k) if k else None
            tv = get(t) if t else None
            if kv is None or tv is None:
                q = "-"
            elif ratio == "diff":
                q = f"{kv - tv:+.2f} nats"
            else:
                q = f"{kv / tv:.2f}x" if tv else "-"
            lines.append(f"| {model.upper()} | {name} | {fmt(kv)} | {fmt(tv)} | {q} |")

        if model == "vae":
            row("hold-out ELBO, nats/image (higher is better)",
                lambda s: None if s["holdout_loss"] is None else -s["holdout_loss"], "diff")
        row("digit score: confident share (top p >= 0.9)", lambda s: s["score"]["confident"], "ratio")
        row("digit score: class entropy (log 10 = 2.303)", lambda s: s["score"]["entropy"], "ratio")
        row(f"training steps/s ({(k or t)['steps']} steps)", lambda s: s["steps_per_s"], "ratio")
    k = all_results.get("vae", {}).get("keel")
    if k and k.get("holdout_loss_by_torch") is not None:
        lines += ["", f"Check: Keel's trained VAE evaluated by PyTorch on the same hold-out rows: ELBO "
                  f"{-k['holdout_loss_by_torch']:.4f} (Keel's own: {fmt(None if k['holdout_loss'] is None else -k['holdout_loss'], 4)})."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=0, help="train.steps for Keel, and PyTorch's steps "
                    "(default: the graphs' own; needed with --only torch)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("KEEL_BENCH_THREADS", "2")))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", choices=["keel", "torch"])
    ap.add_argument("--models", default="vae,gan", help="comma-separated: vae, gan")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "generative", "quality"))
    ap.add_argument("--keel", help="keel binary (default: $KEEL_BIN or build/bin/keel)")
    ap.add_argument("--ckpt", help="classifier checkpoint for the digit score (default: trained once)")
    ap.add_argument("--key-file", help="key of a sealed --ckpt")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    if any(m not in KEEL for m in models) or args.rounds < 1:
        ap.error("--models takes vae and/or gan; --rounds >= 1")
    os.makedirs(args.out, exist_ok=True)
    ckpt = args.ckpt or classifier(args.keel, threads=args.threads)
    results = {}
    for model in models:
        print(f"quality: {model}", file=sys.stderr)
        results[model] = measure(model, args, ckpt)
    text = report(results, args)
    with open(os.path.join(args.out, "quality.json"), "w") as f:
        json.dump({"steps": args.steps, "seed": args.seed, "threads": args.threads,
                   "rounds": args.rounds, "results": results}, f, indent=1)
    with open(os.path.join(args.out, "quality.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
