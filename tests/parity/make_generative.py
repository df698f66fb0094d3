"""PyTorch parity fixtures for the generative plugin: gaussian_sample (the
reparameterisation and its gradients), kl_normal (value and gradients),
and the draws of noise / noise_like.

The ops draw from Keel's counter-based generator (plugins/common/
keel_rng.hpp), which PyTorch does not have; it is written again here from
its definition (SplitMix64's finalizer over (seed, step, index), Box-Muller
over uniforms 2i and 2i+1), with NumPy's wrapping uint64 arithmetic. The
eps drawn that way goes into PyTorch's autograd for gaussian_sample, so its
output checks the draw and its gradients check backward.

Attributes travel with each case: attr_seed, attr_step (small enough to be
exact as float32), attr_mean/attr_std or attr_low/attr_high, attr_shape.

Run with Debian's PyTorch: /usr/bin/python3 tests/parity/make_generative.py
"""
import numpy as np
import torch

from fixture_lib import reset_family, save_case, seeded

FAMILY = "generative"
GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def mix64(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def stream_key(seed, step):
    with np.errstate(over="ignore"):
        return mix64(np.uint64(seed) ^ mix64(np.uint64(step) + GOLDEN_GAMMA))


def uniform_at(key, index):
    with np.errstate(over="ignore"):
        bits = mix64(key + (index.astype(np.uint64) + np.uint64(1)) * GOLDEN_GAMMA)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def normal_at(key, index):
    index = index.astype(np.uint64)
    u1 = 1.0 - uniform_at(key, np.uint64(2) * index)
    u2 = uniform_at(key, np.uint64(2) * index + np.uint64(1))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def gaussian_case(name, gen, shape, seed, step):
    mean = torch.randn(*shape, generator=gen, requires_grad=True)
    logvar = (torch.rand(*shape, generator=gen) * 4 - 2).requires_grad_(True)
    n = int(np.prod(shape))
    eps = torch.from_numpy(normal_at(stream_key(seed, step), np.arange(n)).astype(np.float32)).reshape(shape)
    z = mean + torch.exp(0.5 * logvar) * eps
    grad_y = torch.randn(*shape, generator=gen)
    z.backward(grad_y)
    save_case(FAMILY, name, mean=mean, logvar=logvar, eps=eps, z=z, grad_y=grad_y, grad_mean=mean.grad,
              grad_logvar=logvar.grad, attr_seed=np.array([seed], np.int64),
              attr_step=np.array([step], np.int64))


def kl_case(name, gen, shape):
    # Drawn in float32 (what the op reads), computed in float64 (what it sums in).
    mean = torch.randn(*shape, generator=gen).double().requires_grad_(True)
    logvar = (torch.rand(*shape, generator=gen) * 4 - 2).double().requires_grad_(True)
    per_row = -0.5 * torch.sum(1 + logvar - mean ** 2 - logvar.exp(), dim=tuple(range(1, len(shape))))
    loss = per_row.mean()
    grad_y = torch.tensor(0.75, dtype=torch.float64)
    loss.backward(grad_y)
    save_case(FAMILY, name, mean=mean.float(), logvar=logvar.float(), loss=loss.reshape(()).float(),
              grad_y=grad_y.float(), grad_mean=mean.grad, grad_logvar=logvar.grad)


def noise_case(name, rows, row_shape, seed, step, distribution, a, b):
    n = rows * int(np.prod(row_shape))
    key = stream_key(seed, step)
    if distribution == "normal":
        values = a + b * normal_at(key, np.arange(n))
        attrs = dict(attr_mean=np.array([a], np.float32), attr_std=np.array([b], np.float32))
    else:
        values = (a + (b - a) * uniform_at(key, np.arange(n))).astype(np.float32)
        # Rounding to float32 may reach high; the op keeps the interval half-open.
        values = np.minimum(values, np.nextafter(np.float32(b), np.float32(-np.inf)))
        attrs = dict(attr_low=np.array([a], np.float32), attr_high=np.array([b], np.float32))
    z = values.astype(np.float32).reshape((rows, *row_shape))
    save_case(FAMILY, name, z=z, attr_seed=np.array([seed], np.int64), attr_step=np.array([step], np.int64),
              attr_shape=np.array(row_shape, np.int64), **attrs)


def main():
    reset_family(FAMILY)
    gen = seeded(5151)
    gaussian_case("gaussian_rows", gen, (6, 5), seed=7, step=0)
    gaussian_case("gaussian_images", gen, (2, 3, 4, 4), seed=123457, step=41)
    kl_case("kl_rows", gen, (8, 4))
    kl_case("kl_images", gen, (3, 2, 5, 5))
    noise_case("noise_normal", 5, (16,), seed=3, step=0, distribution="normal", a=0.0, b=1.0)
    noise_case("noise_normal_scaled", 4, (2, 3), seed=99, step=12, distribution="normal", a=0.5, b=2.0)
    noise_case("noise_uniform", 7, (8,), seed=11, step=5, distribution="uniform", a=-1.0, b=3.0)


if __name__ == "__main__":
    main()
