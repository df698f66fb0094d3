"""PyTorch parity fixtures for the optimizer plugin: torch.optim.SGD, Adam
and AdamW run for STEPS steps on one parameter with a fixed sequence of
gradients, with Keel's gradient preprocessing done the torch way first
(grad * scale, torch.nn.utils.clip_grad_value_, then
p.grad += l1 * sign(p)).

A case's op is its name up to the first underscore (sgd, adam, adamw).
Per case: param0, grads [STEPS, ...], hyper [STEPS, 2] (learning rate and
gradient scale of each step, exactly what the op gets), then after each
step params [STEPS, ...] and the state (momentum_buffer or exp_avg and
exp_avg_sq) [STEPS, ...]. Attributes that differ from the op's defaults
are attr_<name>.npy in float64 (nesterov as 0/1), so the C++ test sets
exactly the values torch used.

Run with Debian's PyTorch: /usr/bin/python3 tests/parity/make_optimizer.py
"""
import os

import numpy as np
import torch

from fixture_lib import HERE, reset_family, save_case, seeded

FAMILY = "optimizer"
STEPS = 5
# 123 elements: whole vectors plus a remainder, for every vector width.
SHAPE = (3, 41)


def f32(x):
    """A value as the op sees it in its f32 hyper input."""
    return float(np.float32(x))


def make_optimizer(op, p, attrs, lr):
    if op == "sgd":
        return torch.optim.SGD([p], lr=lr, momentum=attrs.get("momentum", 0.0),
                               dampening=attrs.get("dampening", 0.0), nesterov=bool(attrs.get("nesterov", 0)),
                               weight_decay=attrs.get("weight_decay", 0.0))
    betas = (attrs.get("beta1", 0.9), attrs.get("beta2", 0.999))
    if op == "adam":
        return torch.optim.Adam([p], lr=lr, betas=betas, eps=attrs.get("eps", 1e-8),
                                weight_decay=attrs.get("weight_decay", 0.0))
    return torch.optim.AdamW([p], lr=lr, betas=betas, eps=attrs.get("eps", 1e-8),
                             weight_decay=attrs.get("weight_decay", 0.01))


def case(name, gen, lrs, scales=(1.0,) * STEPS, **attrs):
    op = name.split("_")[0]
    param0 = torch.randn(*SHAPE, generator=gen)
    grads = torch.randn(STEPS, *SHAPE, generator=gen)
    hyper = np.array([[f32(lr), f32(s)] for lr, s in zip(lrs, scales)], np.float32)
    p = torch.nn.Parameter(param0.clone())
    opt = make_optimizer(op, p, attrs, float(hyper[0, 0]))
    state_names = ["momentum_buffer"] if op == "sgd" else ["exp_avg", "exp_avg_sq"]
    params, states = [], {s: [] for s in state_names}
    for k in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = float(hyper[k, 0])
        p.grad = grads[k] * float(hyper[k, 1])
        if attrs.get("clip_value", 0.0) != 0.0:
            torch.nn.utils.clip_grad_value_([p], attrs["clip_value"])
        if attrs.get("l1", 0.0) != 0.0:
            p.grad.add_(torch.sign(p.detach()), alpha=attrs["l1"])
        opt.step()
        params.append(p.detach().clone())
        for s in state_names:
            # Plain SGD keeps no buffer; Keel's stays at its initial zeros.
            value = opt.state[p].get(s)
            states[s].append(torch.zeros(SHAPE) if value is None else value.clone())
    save_case(FAMILY, name, param0=param0, grads=grads, hyper=hyper, params=torch.stack(params),
              **{s: torch.stack(v) for s, v in states.items()})
    for key, value in attrs.items():
        np.save(os.path.join(HERE, "fixtures", FAMILY, name, "attr_" + key + ".npy"),
                np.array([float(value)], np.float64))


def main():
    reset_family(FAMILY)
    gen = seeded(20)
    sgd_lrs = [0.1, 0.08, 0.06, 0.05, 0.03]
    adam_lrs = [1e-2, 8e-3, 6e-3, 5e-3, 3e-3]
    scales = [0.9, 0.5, 1.0, 0.25, 0.75]
    case("sgd_plain", gen, sgd_lrs)
    case("sgd_momentum_dampening", gen, sgd_lrs, momentum=0.9, dampening=0.25)
    case("sgd_nesterov_weight_decay", gen, sgd_lrs, momentum=0.9, nesterov=1, weight_decay=0.01)
    case("sgd_regularized_clipped_scaled", gen, sgd_lrs, scales, momentum=0.8, dampening=0.1, weight_decay=1e-3,
         l1=1e-2, clip_value=0.5)
    case("adam_default", gen, adam_lrs)
    case("adam_weight_decay", gen, adam_lrs, weight_decay=0.05)
    case("adam_regularized_clipped_scaled", gen, adam_lrs, scales, beta1=0.8, beta2=0.99, eps=1e-6,
         weight_decay=0.05, l1=1e-2, clip_value=0.7)
    case("adamw_default", gen, adam_lrs)
    case("adamw_regularized_clipped_scaled", gen, [0.5, 0.4, 0.3, 0.2, 0.1], scales, beta1=0.85, beta2=0.995,
         eps=1e-7, weight_decay=0.1, l1=5e-3, clip_value=0.6)


if __name__ == "__main__":
    main()
