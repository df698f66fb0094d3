#!/usr/bin/python3
"""Prepares the demo's inputs from graphs/data/digits.csv and scores its output.

  demo_data.py prepare OUT_DIR   writes pixels.npy, templates.npy, offsets.npy, labels.npy
  demo_data.py score OUT_DIR     prints the accuracy of OUT_DIR/scores.npy

The split is fixed (every fifth image is held out) so the demo is repeatable.
"""
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare(out):
    data = np.loadtxt(os.path.join(ROOT, "graphs/data/digits.csv"), delimiter=",")
    x, y = data[:, :64], data[:, 64].astype(np.int64)
    held = np.arange(len(y)) % 5 == 0
    means = np.stack([x[~held & (y == k)].mean(axis=0) / 16.0 for k in range(10)])
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "pixels.npy"), x[held].astype(np.float32))
    np.save(os.path.join(out, "labels.npy"), y[held])
    np.save(os.path.join(out, "templates.npy"), np.ascontiguousarray(means.T, dtype=np.float32))
    np.save(os.path.join(out, "offsets.npy"), (-0.5 * (means ** 2).sum(axis=1)).astype(np.float32))
    print(f"prepared {held.sum()} held-out images and 10 class templates from {(~held).sum()} training images")


def score(out):
    scores = np.load(os.path.join(out, "scores.npy"))
    labels = np.load(os.path.join(out, "labels.npy"))
    accuracy = (scores.argmax(axis=1) == labels).mean()
    print(f"hold-out accuracy of nearest-template classification: {accuracy:.1%} on {len(labels)} images")


if __name__ == "__main__":
    {"prepare": prepare, "score": score}[sys.argv[1]](sys.argv[2])
