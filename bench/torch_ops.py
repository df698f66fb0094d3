"""The op cases of bench_ops in PyTorch eager mode, same shapes, same
thread count. Prints a JSON object {case id + " " + mode: ms}. Gradients
come from torch.autograd.grad (fresh tensors, not accumulated into .grad),
as Keel's ops write theirs.

Timing as in bench_util.hpp: warm-up calls, then the median over rounds of
the per-call time, each sample repeated to last about 20 ms.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def per_call(fn, rounds, sample_s=0.02):
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    calls = max(1, int(sample_s / max(time.perf_counter() - t0, 1e-9)))
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    return statistics.median(samples) * 1e3


def rand(*shape, grad=False):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(grad)


def linear_fwd(n, k, units):
    x, w, b = rand(n, k), rand(units, k), rand(units)
    return lambda: F.linear(x, w, b)


def linear_fwdbwd(n, k, units):
    x, w, b = rand(n, k, grad=True), rand(units, k, grad=True), rand(units, grad=True)
    gy = rand(n, units)
    return lambda: torch.autograd.grad(F.linear(x, w, b), (x, w, b), gy)


def batchnorm_fwdbwd(shape):
    c = shape[1]
    x, gamma, beta = rand(*shape, grad=True), rand(c, grad=True), rand(c, grad=True)
    mean, var, gy = torch.zeros(c), torch.ones(c), rand(*shape)
    return lambda: torch.autograd.grad(F.batch_norm(x, mean, var, gamma, beta, training=True), (x, gamma, beta), gy)


def residual_fwd(n, out, inp):
    branch, skip = rand(n, out), rand(n, inp)
    if inp == out:
        return lambda: skip + branch
    w = rand(out, inp)
    return lambda: torch.addmm(branch, skip, w.t())


def conv_fwd(shape, filters):
    x, w, b = rand(*shape), rand(filters, shape[1], 3, 3), rand(filters)
    return lambda: F.conv2d(x, w, b, padding=1)


def conv_fwdbwd(shape, filters):
    x, w, b = rand(*shape, grad=True), rand(filters, shape[1], 3, 3, grad=True), rand(filters, grad=True)
    gy = rand(shape[0], filters, shape[2], shape[3])
    return lambda: torch.autograd.grad(F.conv2d(x, w, b, padding=1), (x, w, b), gy)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = {
        "linear_256x512_512 fwd": lambda: linear_fwd(256, 512, 512),
        "linear_64x64_128 fwd": lambda: linear_fwd(64, 64, 128),
        "linear_256x512_512 fwd+bwd": lambda: linear_fwdbwd(256, 512, 512),
        "batchnorm_32x64x56x56 fwd+bwd": lambda: batchnorm_fwdbwd((32, 64, 56, 56)),
        "batchnorm_4096x1024 fwd+bwd": lambda: batchnorm_fwdbwd((4096, 1024)),
        "residual_identity fwd": lambda: residual_fwd(256, 512, 512),
        "residual_projection fwd": lambda: residual_fwd(256, 512, 256),
        "conv2d_32x64x56x56 fwd": lambda: conv_fwd((32, 64, 56, 56), 64),
        "conv2d_32x64x56x56 fwd+bwd": lambda: conv_fwdbwd((32, 64, 56, 56), 64),
    }
    out = {}
    with torch.no_grad():
        for name in [n for n in cases if n.endswith(" fwd")]:
            out[name] = per_call(cases[name](), args.rounds)
    for name in [n for n in cases if n.endswith("fwd+bwd")]:
        out[name] = per_call(cases[name](), args.rounds)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
