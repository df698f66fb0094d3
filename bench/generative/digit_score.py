"""The digit score of generated 8x8 images: how many look like a digit to the
flagship classifier, and how many different digits there are.

  /usr/bin/python3 bench/generative/digit_score.py SAMPLES.npy [--ckpt CKPT [--key-file K]]

SAMPLES.npy: [N, 64] images in 0..1. They go, times 16, through
`keel run graphs/digits_infer.yaml --params CKPT --input pixels=...`; the
softmax of its `head` gives per image the predicted class and its
probability. Reported:
- confident: the share of the N images whose top probability is >= 0.9;
- entropy: the entropy (natural log) of the histogram of predicted classes,
  log(10) = 2.30 when all ten digits are equally common, 0 when every image
  is the same digit (mode collapse);
- non_finite: the share of images with a NaN or infinite pixel; they are not
  classified, count as not confident and stay out of the histogram.

The classifier is the flagship (graphs/digits_train.yaml). Without --ckpt
it is trained once, unencrypted, into out/generative/classifier/ and reused
(scripts/demo's out/digits/digits.ckpt is sealed: pass it with --key-file
out/digits.key). As a module: score(samples) -> dict.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN_GRAPH = os.path.join(ROOT, "graphs", "digits_train.yaml")
INFER_GRAPH = os.path.join(ROOT, "graphs", "digits_infer.yaml")
CLASSIFIER_DIR = os.path.join(ROOT, "out", "generative", "classifier")
CONFIDENT = 0.9


def keel_binary():
    """$KEEL_BIN, else the tree's build/bin/keel."""
    return os.environ.get("KEEL_BIN") or os.path.join(ROOT, "build", "bin", "keel")


def run_keel(args, keel=None, threads=None):
    cmd = [keel or keel_binary(), "run", *args, "-q"]
    if threads:
        cmd += ["--threads", str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads)) if threads else None
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done


def classifier(keel=None, folder=CLASSIFIER_DIR, threads=None):
    """The flagship's checkpoint, trained (20 epochs, seed 7) on first use."""
    ckpt = os.path.join(folder, "digits.ckpt")
    if not os.path.isfile(ckpt):
        run_keel([TRAIN_GRAPH, "-o", folder], keel, threads)
    return ckpt


def histogram_entropy(classes, n_classes=10):
    """Entropy in nats of the histogram of predicted classes."""
    if len(classes) == 0:
        return 0.0
    p = np.bincount(classes, minlength=n_classes) / len(classes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum()) + 0.0  # no -0.0 for one class


def score(samples, ckpt=None, key_file=None, keel=None, threads=None, workdir=None):
    """Digit score of images [N, 64] in 0..1: confident share, entropy,
    non-finite share, class histogram."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != 64 or len(x) == 0:
        raise ValueError(f"samples must be [N, 64] images, got shape {list(x.shape)}")
    finite = np.isfinite(x).all(axis=1)
    ckpt = ckpt or classifier(keel, threads=threads)
    counts, confident, classes = np.zeros(10, int), 0, np.zeros(0, np.int64)
    if finite.any():
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            pixels = os.path.join(tmp, "pixels.npy")
            np.save(pixels, np.ascontiguousarray(x[finite] * 16.0))
            args = [INFER_GRAPH, "--params", ckpt, "--input", f"pixels={pixels}", "-o", tmp]
            if key_file:
                args += ["--key-file", key_file]
            run_keel(args, keel, threads)
            head = np.load(os.path.join(tmp, "head.npy")).astype(np.float64)
        head -= head.max(axis=1, keepdims=True)
        probs = np.exp(head)
        probs /= probs.sum(axis=1, keepdims=True)
        classes = probs.argmax(axis=1)
        confident = int((probs.max(axis=1) >= CONFIDENT).sum())
        counts = np.bincount(classes, minlength=10)
    return {
        "n": len(x),
        "confident": confident / len(x),
        "entropy": histogram_entropy(classes),
        "max_entropy": math.log(10),
        "non_finite": float(1.0 - finite.mean()),
        "histogram": counts.tolist(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("samples", help="[N, 64] .npy of images in 0..1")
    ap.add_argument("--ckpt", help="flagship classifier checkpoint (default: trained into out/generative/classifier)")
    ap.add_argument("--key-file", help="key of a sealed --ckpt (scripts/demo: out/digits.key)")
    ap.add_argument("--keel", help="keel binary (default: $KEEL_BIN or build/bin/keel)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    try:
        result = score(np.load(args.samples), args.ckpt, args.key_file, args.keel, args.threads)
    except (RuntimeError, ValueError, OSError) as e:
        sys.exit(f"digit_score: {e}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
