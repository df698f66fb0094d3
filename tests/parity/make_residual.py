"""PyTorch parity fixtures for the residual plugin: residual (identity,
linear and 1x1-convolution skips, with and without a learned gain) and
residual_block (two nn.Conv2d layers around a ReLU, plus the skip).

Attributes travel with each case: attr_gain (1: learned), attr_gain_init,
attr_width. Parameters a case does not use are not written.

Run with Debian's PyTorch: /usr/bin/python3 tests/parity/make_residual.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "residual"


def residual_case(name, gen, branch_shape, skip_shape, learned, gain_init=0.0):
    branch = torch.randn(*branch_shape, generator=gen, requires_grad=True)
    skip = torch.randn(*skip_shape, generator=gen, requires_grad=True)
    arrays = {}
    if branch_shape == skip_shape:
        projected = skip
        weight = None
    else:
        out, inn = branch_shape[1], skip_shape[1]
        wshape = (out, inn) if len(branch_shape) == 2 else (out, inn, 1, 1)
        weight = (torch.rand(*wshape, generator=gen) - 0.5).requires_grad_(True)
        projected = F.linear(skip, weight) if len(branch_shape) == 2 else F.conv2d(skip, weight)
    if learned:
        # Keel's learned gain is gain_init + a parameter that starts at zero;
        # a non-zero parameter value here checks both parts.
        param = (torch.rand(1, generator=gen) - 0.5).requires_grad_(True)
        y = projected + (gain_init + param) * branch
    else:
        y = projected + branch
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    if weight is not None:
        arrays.update(param_proj_weight=weight, grad_param_proj_weight=weight.grad)
    if learned:
        arrays.update(param_gain=param, grad_param_gain=param.grad)
    save_case(FAMILY, name, branch=branch, skip=skip, y=y, grad_y=grad_y, grad_branch=branch.grad,
              grad_skip=skip.grad, attr_gain=np.array([int(learned)], np.int64),
              attr_gain_init=np.array([gain_init], np.float32), **arrays)


def block_case(name, gen, shape, width):
    c = shape[1]
    conv1 = torch.nn.Conv2d(c, width, 1)
    conv2 = torch.nn.Conv2d(width, c, 3, padding=1)
    with torch.no_grad():  # reproducible parameters, drawn from the case's generator
        for p in (conv1.weight, conv1.bias, conv2.weight, conv2.bias):
            p.copy_(torch.rand(p.shape, generator=gen) - 0.5)
    x = torch.randn(*shape, generator=gen, requires_grad=True)
    y = x + conv2(F.relu(conv1(x)))
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad,
              param_conv1_weight=conv1.weight, param_conv1_bias=conv1.bias,
              param_conv2_weight=conv2.weight, param_conv2_bias=conv2.bias,
              grad_param_conv1_weight=conv1.weight.grad, grad_param_conv1_bias=conv1.bias.grad,
              grad_param_conv2_weight=conv2.weight.grad, grad_param_conv2_bias=conv2.bias.grad,
              attr_width=np.array([width], np.int64))


def main():
    reset_family(FAMILY)
    gen = seeded(4242)
    residual_case("identity", gen, (4, 8), (4, 8), False)
    residual_case("identity_learned_gain", gen, (2, 3, 4, 4), (2, 3, 4, 4), True, 0.5)
    residual_case("linear_projection", gen, (5, 6), (5, 3), False)
    residual_case("linear_projection_learned_gain", gen, (5, 2), (5, 7), True, 0.0)
    residual_case("conv_projection", gen, (2, 6, 4, 4), (2, 3, 4, 4), False)
    residual_case("conv_projection_learned_gain", gen, (2, 4, 3, 5), (2, 8, 3, 5), True, 1.0)
    block_case("block", gen, (2, 4, 6, 6), 3)
    block_case("block_same_width", gen, (1, 5, 4, 7), 5)


if __name__ == "__main__":
    main()
