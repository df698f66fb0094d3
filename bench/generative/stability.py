"""Does the GAN survive bad settings? Two scenarios over many seeds, three
ways each, side by side:

- lr10_nobn: learning rates 10x (2e-3 for both Adams) and no batchnorm in
  the generator;
- spike: the standard GAN whose learning rate is multiplied by 1000 for one
  step (--spike-step, default the middle of the run);

each trained by PyTorch (no guards), by Keel without guards and by Keel with
guards. Per scenario and way: how many runs end with a non-finite parameter
(NaN runs), how many collapse (digit-score class entropy < 1.0 on 1000
samples: one or two digits only), how many Keel runs stop with an error
(a guard with action abort, exit 3; a usage error, exit 2, stops the
script), and the means of the digit score (confident share, a NaN run
scoring 0; class entropy of the runs with finite samples). A collapsed run
can be very confident: all its images are one clear digit. The baseline
scenario (not run by default) is the GAN as it is, for reference.

  /usr/bin/python3 bench/generative/stability.py [--seeds 20] [--steps 460] [--threads 1]
      [--only torch|keel] [--scenarios lr10_nobn,spike[,baseline]] [--out DIR]

Writes DIR/stability.json (every run) and DIR/stability.md (the table).
Keel's variants are the KEEL_VARIANTS below: a graph and --set list per
scenario and guard setting; `{...}` in a setting is filled from the run
(steps, spike_step, spike_factor, lr_scale).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import keel_ckpt  # noqa: E402
from digit_score import ROOT, classifier, score  # noqa: E402

GRAPHS = os.path.join(ROOT, "graphs")
HERE = os.path.dirname(os.path.abspath(__file__))
GAN_CKPT = "gan.ckpt"
SAMPLE_GRAPH = os.path.join(GRAPHS, "digits_gan_sample.yaml")
NOISE_NODE = "z"
SAMPLES_OUTPUT = "samples"
SAMPLES = 1000
# The model's own samples, as PyTorch's are: the sampling graphs' output
# guard (sample_check) would blank atypical ones; this limit flags only
# non-finite rows.
UNSCREENED = "sample_check.threshold=1e30"
COLLAPSE_ENTROPY = 1.0
LR_SCALE = 10.0
SPIKE_FACTOR = 1000.0

# The Keel side of each scenario. "no guards" keeps the guard nodes but
# sets every one to action report (they log, nothing more), so both ways run
# the same graph; "guards" runs it as written (rollback with lr_factor 0.5).
GAN = os.path.join(GRAPHS, "digits_gan.yaml")
GAN_NOBN = os.path.join(HERE, "digits_gan_nobn.yaml")
GUARD_NODES = ["d_finite", "g_finite", "d_grads", "g_grads", "d_spike", "g_spike"]
NO_GUARDS = [f"{g}.action=report" for g in GUARD_NODES]
PHASES = ["discriminator", "generator"]
LR10 = [f"train.phases.{p}.optimizer.lr={2e-4 * LR_SCALE:g}" for p in PHASES]
SPIKE = [f"train.phases.{p}.optimizer.schedule.{k}={{{k}}}" for p in PHASES for k in ("spike_step", "spike_factor")]
KEEL_VARIANTS = {
    # Reference (not run by default): the GAN as it is, no perturbation.
    "baseline": {
        "no guards": {"graph": GAN, "set": NO_GUARDS},
        "guards": {"graph": GAN, "set": []},
    },
    "lr10_nobn": {
        "no guards": {"graph": GAN_NOBN, "sample": os.path.join(HERE, "digits_gan_nobn_sample.yaml"),
                      "set": LR10 + NO_GUARDS},
        "guards": {"graph": GAN_NOBN, "sample": os.path.join(HERE, "digits_gan_nobn_sample.yaml"), "set": LR10},
    },
    "spike": {
        "no guards": {"graph": GAN, "set": SPIKE + NO_GUARDS},
        "guards": {"graph": GAN, "set": SPIKE},
    },
}
TORCH_OPTIONS = {
    "baseline": [],
    "lr10_nobn": ["--lr-scale", str(LR_SCALE), "--no-batchnorm"],
    "spike": ["--spike-step", "{spike_step}", "--spike-factor", str(SPIKE_FACTOR)],
}


def fill(items, values):
    return [s.format(**values) for s in items]


def run_torch(scenario, seed, args, out, rows):
    options = fill(TORCH_OPTIONS[scenario], vars_for(args))
    r = common.torch_train("gan", args.steps, seed, args.threads, out, rows, options)
    return {"exit": 0, "non_finite": r["non_finite"], "samples": np.load(os.path.join(out, "samples.npy"))}


def run_keel(scenario, guard, seed, args, out):
    v = KEEL_VARIANTS[scenario][guard]
    sets = [f"seed={seed}", f"train.steps={args.steps}", "train.report=false"] + fill(v["set"], vars_for(args))
    done = common.keel_run(v["graph"], out, args.threads, sets, keel=args.keel, check=False)
    if done.returncode == 2:
        # A usage error: the variant's graph or settings are wrong, which
        # says nothing about stability.
        sys.exit(f"stability: {scenario}, {guard}: keel run refused the settings: {done.stderr.strip()}")
    ckpt = os.path.join(out, GAN_CKPT)
    if done.returncode != 0 and not os.path.isfile(ckpt):
        return {"exit": done.returncode, "error": done.stderr.strip()[-300:], "non_finite": None, "samples": None}
    bad = keel_ckpt.non_finite(ckpt)
    sample_dir = os.path.join(out, "samples")
    s = common.keel_run(v.get("sample", SAMPLE_GRAPH), sample_dir, args.threads,
                        [f"seed={seed + 1}", f"{NOISE_NODE}.count={SAMPLES}", UNSCREENED],
                        extra=["--params", ckpt], keel=args.keel, check=False)
    samples = np.load(os.path.join(sample_dir, SAMPLES_OUTPUT + ".npy")) if s.returncode == 0 else None
    non_finite = bool(bad) if bad is not None else (samples is None or not np.isfinite(samples).all())
    return {"exit": done.returncode, "non_finite": non_finite, "non_finite_tensors": bad or [], "samples": samples}


def vars_for(args):
    return {"steps": args.steps, "spike_step": args.spike_step, "spike_factor": SPIKE_FACTOR,
            "lr_scale": LR_SCALE}


def judge(run, ckpt, args):
    """Adds the digit score and the collapse verdict to one run."""
    samples = run.pop("samples")
    if samples is None or run["non_finite"]:
        run.update(confident=0.0, entropy=None, collapsed=False)
        return run
    s = score(samples, ckpt, args.key_file, args.keel, args.threads)
    run.update(confident=s["confident"], entropy=s["entropy"], collapsed=s["entropy"] < COLLAPSE_ENTROPY)
    return run


def summarize(runs):
    """Per (scenario, way): counts and the mean digit score."""
    table = {}
    for r in runs:
        table.setdefault((r["scenario"], r["way"]), []).append(r)
    out = []
    for (scenario, way), rs in table.items():
        finite = [r["entropy"] for r in rs if r["entropy"] is not None]
        out.append({
            "scenario": scenario, "way": way, "runs": len(rs),
            "nan_runs": sum(bool(r["non_finite"]) for r in rs),
            "collapsed": sum(r["collapsed"] for r in rs),
            "failed": sum(r["exit"] != 0 for r in rs),
            "mean_confident": statistics.mean(r["confident"] for r in rs),
            "mean_entropy": statistics.mean(finite) if finite else None,
            "seconds": sum(r["seconds"] for r in rs),
        })
    return out


def markdown(summary, args):
    lines = [f"GAN stability: {args.seeds} seeds, {args.steps} steps, lr x{LR_SCALE:g} without G's batchnorm, "
             f"or lr x{SPIKE_FACTOR:g} at step {args.spike_step}; {args.threads} thread(s); collapse: class "
             f"entropy < {COLLAPSE_ENTROPY} over {SAMPLES} samples.", "",
             "| scenario | way | runs | NaN runs | collapsed | failed (exit != 0) | mean confident share "
             "| mean class entropy | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        ent = "-" if s["mean_entropy"] is None else f"{s['mean_entropy']:.2f}"
        lines.append(f"| {s['scenario']} | {s['way']} | {s['runs']} | {s['nan_runs']} | {s['collapsed']} | "
                     f"{s['failed']} | {s['mean_confident']:.3f} | {ent} | {s['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds 1..N")
    ap.add_argument("--steps", type=int, default=460, help="steps per run (460 = 20 epochs)")
    ap.add_argument("--spike-step", type=int, default=-1, help="step of the lr spike (default: steps / 2)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["keel", "torch"])
    ap.add_argument("--scenarios", default="lr10_nobn,spike",
                    help=f"comma-separated, of: {', '.join(KEEL_VARIANTS)}")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "generative", "stability"))
    ap.add_argument("--keel", help="keel binary (default: $KEEL_BIN or build/bin/keel)")
    ap.add_argument("--ckpt", help="classifier checkpoint for the digit score (default: trained once)")
    ap.add_argument("--key-file", help="key of a sealed --ckpt")
    args = ap.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    if any(s not in KEEL_VARIANTS for s in scenarios):
        ap.error(f"--scenarios takes {', '.join(KEEL_VARIANTS)}")
    if args.seeds < 1 or args.steps < 1:
        ap.error("--seeds and --steps must be >= 1")
    if args.spike_step < 0:
        args.spike_step = args.steps // 2
    os.makedirs(args.out, exist_ok=True)
    ckpt = args.ckpt or classifier(args.keel, threads=args.threads)
    ways = ([] if args.only == "keel" else ["pytorch"]) + \
        ([] if args.only == "torch" else ["keel, no guards", "keel, guards"])
    runs, t_all = [], time.perf_counter()
    for scenario in scenarios:
        for seed in range(1, args.seeds + 1):
            rows = common.keel_split(os.path.join(args.out, "splits", str(seed)), seed, args.threads, args.keel) \
                if "pytorch" in ways else None
            for way in ways:
                out = os.path.join(args.out, scenario, way.replace(", ", "-").replace(" ", "_"), str(seed))
                t0 = time.perf_counter()
                if way == "pytorch":
                    run = run_torch(scenario, seed, args, out, rows)
                else:
                    run = run_keel(scenario, way.split(", ")[1], seed, args, out)
                run = judge(run, ckpt, args)
                run.update(scenario=scenario, way=way, seed=seed, seconds=time.perf_counter() - t0)
                runs.append(run)
                print(f"stability: {scenario} {way} seed {seed}: non-finite {run['non_finite']}, "
                      f"entropy {run['entropy']}, confident {run['confident']:.3f}, exit {run['exit']}",
                      file=sys.stderr)
    summary = summarize(runs)
    text = markdown(summary, args)
    text += f"\nWall time: {time.perf_counter() - t_all:.0f} s in all.\n"
    with open(os.path.join(args.out, "stability.json"), "w") as f:
        json.dump({"seeds": args.seeds, "steps": args.steps, "spike_step": args.spike_step,
                   "threads": args.threads, "summary": summary, "runs": runs}, f, indent=1)
    with open(os.path.join(args.out, "stability.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
