"""Checks that the PyTorch peers compute what Keel's graphs compute, with
parameters Keel trained: the deterministic parts of the VAE (encoder ->
mu -> decoder -> logits, as in evaluation) and of the GAN (G -> D) are
declared here with Keel's ops and node names, trained a few steps by
`keel run`, loaded into torch_models.VAE / GAN through keel_ckpt, and
their outputs on the hold-out rows compared with Keel's (evaluation mode:
batchnorm's running statistics). This checks the layer structure, the
name mapping of keel_ckpt and torch's evaluation against Keel's; the loss
formulas are checked against NumPy (the reference: Keel's outputs, or NumPy).

  /usr/bin/python3 bench/generative/check_peer.py      # exit 0: all match
"""
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import keel_ckpt  # noqa: E402
from digit_score import ROOT, histogram_entropy  # noqa: E402
from torch_models import GAN, VAE  # noqa: E402

CSV = os.path.join(ROOT, "graphs", "data", "digits.csv")

VAE_GRAPH = """keel: 1
name: vae-deterministic-part
seed: 5
inputs:
  pixels: {dtype: f32, shape: [batch, 64]}
nodes:
  - {name: unit, op: scale, inputs: [pixels], attrs: {factor: 0.0625}}
  - {name: enc_fc1, op: linear, inputs: [unit], attrs: {units: 128}}
  - {name: enc_bn1, op: batchnorm, inputs: [enc_fc1]}
  - {name: a1, op: relu, inputs: [enc_bn1]}
  - {name: enc_fc2, op: linear, inputs: [a1], attrs: {units: 128}}
  - {name: enc_bn2, op: batchnorm, inputs: [enc_fc2]}
  - {name: a2, op: relu, inputs: [enc_bn2]}
  - {name: enc_res, op: residual, inputs: [a2, a1]}
  - {name: mu, op: linear, inputs: [enc_res], attrs: {units: 12}}
  - {name: logvar, op: linear, inputs: [enc_res], attrs: {units: 12}}
  - {name: dec_fc1, op: linear, inputs: [mu], attrs: {units: 128}}
  - {name: dec_bn1, op: batchnorm, inputs: [dec_fc1]}
  - {name: b1, op: relu, inputs: [dec_bn1]}
  - {name: dec_fc2, op: linear, inputs: [b1], attrs: {units: 128}}
  - {name: dec_bn2, op: batchnorm, inputs: [dec_fc2]}
  - {name: b2, op: relu, inputs: [dec_bn2]}
  - {name: dec_res, op: residual, inputs: [b2, b1]}
  - {name: logits, op: linear, inputs: [dec_res], attrs: {units: 64}}
  - {name: image, op: sigmoid, inputs: [logits]}
  - {name: loss, op: mse, inputs: [image, unit]}
outputs: [logits, logvar]
train:
  loss: loss
  data: {csv: [CSV], columns: {pixels: "0:64"}, batch: 64, shuffle: true, holdout: 0.2}
  epochs: 1
  optimizer: {op: adam, lr: 0.001}
  checkpoint: {path: vae.ckpt}
  report: false
"""

# z: 16 pixel columns stand in for the noise; the target is the digit.
GAN_GRAPH = """keel: 1
name: gan-deterministic-part
seed: 5
inputs:
  z: {dtype: f32, shape: [batch, 16]}
  target: {dtype: f32, shape: [batch, 1]}
nodes:
  - {name: g_fc1, op: linear, inputs: [z], attrs: {units: 128}}
  - {name: g_bn1, op: batchnorm, inputs: [g_fc1]}
  - {name: g_a1, op: relu, inputs: [g_bn1]}
  - {name: g_fc2, op: linear, inputs: [g_a1], attrs: {units: 128}}
  - {name: g_bn2, op: batchnorm, inputs: [g_fc2]}
  - {name: g_a2, op: relu, inputs: [g_bn2]}
  - {name: g_out, op: linear, inputs: [g_a2], attrs: {units: 64}}
  - {name: fake, op: sigmoid, inputs: [g_out]}
  - {name: d_fc1, op: linear, inputs: [fake], attrs: {units: 128}}
  - {name: d_a1, op: leaky_relu, inputs: [d_fc1], attrs: {negative_slope: 0.2}}
  - {name: d_fc2, op: linear, inputs: [d_a1], attrs: {units: 64}}
  - {name: d_a2, op: leaky_relu, inputs: [d_fc2], attrs: {negative_slope: 0.2}}
  - {name: d_out, op: linear, inputs: [d_a2], attrs: {units: 1}}
  - {name: loss, op: mse, inputs: [d_out, target]}
outputs: [fake, d_out]
train:
  loss: loss
  data: {csv: [CSV], columns: {z: "20:36", target: "64:65"}, batch: 64, shuffle: true, holdout: 0.2}
  epochs: 1
  optimizer: {op: adam, lr: 0.001}
  checkpoint: {path: gan.ckpt}
  report: false
"""


def close(name, got, want, tol=2e-4):
    err = float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
    scale = float(np.max(np.abs(want))) or 1.0
    ok = err <= tol * max(1.0, scale)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |torch - reference| {err:.2e} (values up to {scale:.3g})")
    return ok


def train(text, tmp, name):
    graph = os.path.join(tmp, name + ".yaml")
    with open(graph, "w") as f:
        f.write(text.replace("CSV", CSV))
    out = os.path.join(tmp, name)
    common.keel_run(graph, out, 1)
    return out


def check_vae(tmp):
    out = train(VAE_GRAPH, tmp, "vae")
    model = keel_ckpt.load_into(VAE(), os.path.join(out, "vae.ckpt")).eval()
    x = torch.from_numpy(np.load(os.path.join(out, "holdout", "pixels.npy")) / 16.0).float()
    with torch.no_grad():
        logits, _, logvar = model(x)
    return (close("VAE logits (z = mu, running statistics)", logits, np.load(os.path.join(out, "logits.npy")))
            and close("VAE logvar", logvar, np.load(os.path.join(out, "logvar.npy"))))


def check_gan(tmp):
    out = train(GAN_GRAPH, tmp, "gan")
    model = keel_ckpt.load_into(GAN(), os.path.join(out, "gan.ckpt")).eval()
    z = torch.from_numpy(np.load(os.path.join(out, "holdout", "z.npy"))).float()
    with torch.no_grad():
        fake = model.G(z)
        d = model.D(fake)
    return (close("GAN generator (running statistics)", fake, np.load(os.path.join(out, "fake.npy")))
            and close("GAN discriminator", d, np.load(os.path.join(out, "d_out.npy"))))


def check_losses():
    """VAE.loss against the formulas written out in NumPy, and the class
    histogram entropy against known cases."""
    rng = np.random.default_rng(0)
    logits, x = rng.normal(size=(5, 64)), rng.uniform(size=(5, 64))
    mu, logvar = rng.normal(size=(5, 12)), rng.normal(size=(5, 12)) * 0.5
    p = 1 / (1 + np.exp(-logits))
    recon = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1).mean()
    kl = (0.5 * (np.exp(logvar) + mu ** 2 - 1 - logvar)).sum(axis=1).mean()
    t = [torch.from_numpy(a) for a in (logits, mu, logvar, x)]
    ok = close("VAE loss = per-image BCE sum + KL, batch mean", VAE.loss(*t).item(), recon + kl, 1e-9)
    ok &= close("entropy of ten equal classes", histogram_entropy(np.arange(1000) % 10), math.log(10), 1e-12)
    ok &= close("entropy of one class", histogram_entropy(np.full(50, 3)), 0.0, 0)
    return ok


def check_init():
    """Keel's linear init: U(±sqrt(6 / in)), zero bias."""
    fc = VAE().enc.fc1
    bound = math.sqrt(6 / 64)
    w = fc.weight.detach().numpy()
    ok = w.min() >= -bound and w.max() <= bound and w.max() > 0.95 * bound and not fc.bias.detach().any()
    ok = ok and abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    print(f"{'ok  ' if ok else 'FAIL'} linear init: he_uniform bound {bound:.4f}, observed "
          f"[{w.min():.4f}, {w.max():.4f}], std {w.std():.4f} (uniform: {bound / math.sqrt(3):.4f}), bias zero")
    return ok


def main():
    torch.set_num_threads(1)
    ok = check_losses() & check_init()
    with tempfile.TemporaryDirectory() as tmp:
        ok &= check_vae(tmp)
        ok &= check_gan(tmp)
    print("all match" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
