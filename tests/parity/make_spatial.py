"""PyTorch parity fixtures for the nn plugin's spatial ops (conv2d,
global_avg_pool). Each conv case also stores its attributes as int64 arrays
(attr_filters, attr_kernel, attr_stride, attr_padding, attr_dilation,
attr_bias) so the C++ test builds the node from the fixture alone.

Run with Debian's PyTorch: /usr/bin/python3 tests/parity/make_spatial.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "spatial"


def conv_case(name, gen, n, c, h, w, filters, kernel, stride, padding, dilation, bias):
    x = torch.randn(n, c, h, w, generator=gen, requires_grad=True)
    conv = torch.nn.Conv2d(c, filters, kernel, stride=stride, padding=padding, dilation=dilation, bias=bias)
    with torch.no_grad():  # reproducible weights: drawn from the case's generator
        conv.weight.copy_(torch.empty_like(conv.weight).uniform_(-0.5, 0.5, generator=gen))
        if bias:
            conv.bias.copy_(torch.empty_like(conv.bias).uniform_(-0.5, 0.5, generator=gen))
    y = conv(x)
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    b = conv.bias if bias else torch.zeros(filters)
    gb = conv.bias.grad if bias else torch.zeros(filters)
    save_case(FAMILY, name, x=x, param_weight=conv.weight, param_bias=b, y=y, grad_y=grad_y, grad_x=x.grad,
              grad_param_weight=conv.weight.grad, grad_param_bias=gb,
              attr_filters=np.array([filters], np.int64), attr_kernel=np.array(kernel, np.int64),
              attr_stride=np.array(stride, np.int64), attr_padding=np.array(padding, np.int64),
              attr_dilation=np.array(dilation, np.int64), attr_bias=np.array([int(bias)], np.int64))


def pool_case(name, gen, shape):
    x = torch.randn(*shape, generator=gen, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, 1).flatten(1)
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad)


def main():
    reset_family(FAMILY)
    gen = seeded(2024)
    conv_case("conv2d_3x3", gen, 2, 3, 8, 8, 4, [3, 3], [1, 1], [1, 1], [1, 1], True)
    conv_case("conv2d_strided_rect", gen, 2, 4, 9, 7, 6, [3, 2], [2, 1], [1, 0], [1, 1], True)
    conv_case("conv2d_dilated_no_bias", gen, 1, 3, 10, 9, 5, [3, 3], [1, 2], [2, 1], [2, 2], False)
    conv_case("conv2d_pointwise", gen, 3, 8, 5, 5, 16, [1, 1], [1, 1], [0, 0], [1, 1], True)
    pool_case("global_avg_pool", gen, (3, 5, 6, 7))
    pool_case("global_avg_pool_single_pixel", gen, (2, 4, 1, 1))


if __name__ == "__main__":
    main()
