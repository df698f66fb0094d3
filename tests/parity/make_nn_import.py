"""PyTorch reference values for the nn plugin's ops that ONNX models need
(sub, div, log_softmax, transpose, max_pool2d, avg_pool2d, and conv2d and
conv_transpose2d with ONNX's per-side padding), read by
tests/nn/import_ops_parity_test.cpp.

Arrays follow the ops' port names: sub and div take a and b, the others x;
each returns y (upstream gradient grad_y); input gradients are grad_<input>,
parameter values and gradients param_<name> and grad_param_<name>.
Attributes the C++ side passes are stored as attr_<name> (int64; bools as
0 or 1; an empty array is the attribute's empty default).

Per-side padding, which PyTorch's layers do not take, is PyTorch after an
explicit F.pad: -inf for max pooling (padded cells are never the maximum),
zeros for convolutions and for average pooling that counts padded cells;
average pooling that does not count them divides the zero-padded window sum
by the window's image cells (the same pooling of a padded mask of ones).
ceil_mode keeps a last window only if it starts before the bottom/right
padding (PyTorch's rule, and ONNX's); after F.pad PyTorch would see that
padding as image, so each padded case asserts that no window starts there.

Run with Debian's interpreter: /usr/bin/python3 tests/parity/make_nn_import.py
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "nn_import"


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def ints(v):
    return np.array(v, dtype=np.int64)


def backward(y, gen):
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    return grad_y


def binary_case(name, op, a, b, gen):
    a, b = leaf(a), leaf(b)
    y = a - b if op == "sub" else a / b
    grad_y = backward(y, gen)
    save_case(FAMILY, name, a=a, b=b, y=y, grad_y=grad_y, grad_a=a.grad, grad_b=b.grad)


def log_softmax_case(name, x, axis, gen):
    x = leaf(x)
    y = torch.log_softmax(x, dim=axis)
    grad_y = backward(y, gen)
    save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad, attr_axis=ints([axis]))


def transpose_case(name, shape, perm, gen):
    x = leaf(torch.randn(shape, generator=gen))
    y = x.permute(perm if perm else list(reversed(range(len(shape)))))
    grad_y = backward(y, gen)
    save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad, attr_perm=ints(perm))


def sides(padding):
    """[p], [ph, pw] or [top, left, bottom, right] as (top, left, bottom, right)."""
    if len(padding) == 1:
        return (padding[0],) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return tuple(padding)


def pair(v):
    return (v[0], v[0]) if len(v) == 1 else tuple(v)


def windows(size, kernel, stride, dilation, lo, hi, ceil_mode):
    """Output size along one axis: PyTorch's and ONNX's pooling rule."""
    span = size + lo + hi - dilation * (kernel - 1) - 1
    n = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (n - 1) * stride >= size + lo:
        n -= 1
    return n


def pool_case(name, kind, shape, kernel, stride, padding, ceil_mode, gen, dilation=(1,), count_include_pad=True):
    x = leaf(torch.randn(shape, generator=gen))
    k, s, d = pair(kernel), pair(stride if stride else kernel), pair(dilation)
    top, left, bottom, right = sides(padding)
    symmetric = top == bottom and left == right
    if kind == "max":
        if symmetric:
            y = F.max_pool2d(x, k, s, (top, left), d, ceil_mode=ceil_mode)
        else:
            xp = F.pad(x, (left, right, top, bottom), value=-math.inf)
            y = F.max_pool2d(xp, k, s, 0, d, ceil_mode=ceil_mode)
    elif symmetric:
        y = F.avg_pool2d(x, k, s, (top, left), ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    else:
        pad = (left, right, top, bottom)
        y = F.avg_pool2d(F.pad(x, pad), k, s, 0, ceil_mode=ceil_mode)
        if not count_include_pad:
            ones = torch.ones(1, 1, *shape[2:])
            y = y / F.avg_pool2d(F.pad(ones, pad), k, s, 0, ceil_mode=ceil_mode)
    expect = (windows(shape[2], k[0], s[0], d[0], top, bottom, ceil_mode),
              windows(shape[3], k[1], s[1], d[1], left, right, ceil_mode))
    assert tuple(y.shape[2:]) == expect, (name, tuple(y.shape), expect)
    grad_y = backward(y, gen)
    attrs = dict(attr_kernel=ints(kernel), attr_stride=ints(stride), attr_padding=ints(padding),
                 attr_ceil_mode=ints([int(ceil_mode)]))
    if kind == "max":
        attrs["attr_dilation"] = ints(dilation)
    else:
        attrs["attr_count_include_pad"] = ints([int(count_include_pad)])
    save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad, **attrs)


def weights(shape, gen):
    return torch.empty(shape).uniform_(-0.5, 0.5, generator=gen).requires_grad_(True)


def conv_case(name, shape, filters, kernel, stride, padding, dilation, gen):
    x = leaf(torch.randn(shape, generator=gen))
    k = pair(kernel)
    w = weights((filters, shape[1], *k), gen)
    b = weights((filters,), gen)
    top, left, bottom, right = sides(padding)
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, pair(stride), 0, pair(dilation))
    grad_y = backward(y, gen)
    save_case(FAMILY, name, x=x, param_weight=w, param_bias=b, y=y, grad_y=grad_y, grad_x=x.grad,
              grad_param_weight=w.grad, grad_param_bias=b.grad, attr_filters=ints([filters]),
              attr_kernel=ints(kernel), attr_stride=ints(stride), attr_padding=ints(padding),
              attr_dilation=ints(dilation))


def conv_transpose_case(name, shape, filters, kernel, stride, padding, output_padding, gen):
    x = leaf(torch.randn(shape, generator=gen))
    k = pair(kernel)
    w = weights((shape[1], filters, *k), gen)
    b = weights((filters,), gen)
    top, left, bottom, right = sides(padding)
    # The whole transposed convolution, then each side cropped.
    full = F.conv_transpose2d(x, w, b, pair(stride), 0, pair(output_padding))
    y = full[:, :, top:full.shape[2] - bottom, left:full.shape[3] - right]
    grad_y = backward(y, gen)
    save_case(FAMILY, name, x=x, param_weight=w, param_bias=b, y=y, grad_y=grad_y, grad_x=x.grad,
              grad_param_weight=w.grad, grad_param_bias=b.grad, attr_filters=ints([filters]),
              attr_kernel=ints(kernel), attr_stride=ints(stride), attr_padding=ints(padding),
              attr_output_padding=ints(output_padding))


def divisors(shape, gen):
    """Magnitudes in [0.5, 1.5], either sign: a / b stays well scaled."""
    magnitude = torch.rand(shape, generator=gen) + 0.5
    sign = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
    return magnitude * sign


def main():
    reset_family(FAMILY)
    gen = seeded(20240611)

    binary_case("sub_b_broadcast", "sub", torch.randn(2, 3, 4, generator=gen), torch.randn(3, 1, generator=gen),
                gen)
    binary_case("sub_a_broadcast", "sub", torch.randn(4, generator=gen), torch.randn(2, 3, 4, generator=gen), gen)
    binary_case("div_both_broadcast", "div", torch.randn(2, 1, 4, generator=gen), divisors((3, 1), gen), gen)
    binary_case("div_a_broadcast", "div", torch.randn(5, generator=gen), divisors((2, 3, 5), gen), gen)

    log_softmax_case("log_softmax_rows", torch.randn(4, 10, generator=gen) * 3, -1, gen)
    log_softmax_case("log_softmax_middle", torch.randn(2, 3, 4, generator=gen) * 3, 1, gen)
    log_softmax_case("log_softmax_first", torch.randn(3, 5, generator=gen), 0, gen)
    log_softmax_case("log_softmax_extreme", torch.tensor([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, 0.0]]), 1,
                     gen)

    transpose_case("transpose_3d", (2, 3, 4), [2, 0, 1], gen)
    transpose_case("transpose_nchw_to_nhwc", (2, 3, 4, 5), [0, 2, 3, 1], gen)
    transpose_case("transpose_4d_mixed", (2, 3, 4, 5), [3, 1, 0, 2], gen)
    transpose_case("transpose_4d_default", (2, 3, 4, 5), [], gen)
    transpose_case("transpose_matrix_default", (3, 7), [], gen)

    pool_case("max_k2_default_stride", "max", (2, 3, 6, 7), [2], [], [0], False, gen)
    pool_case("max_k3_s2_p1_ceil", "max", (2, 2, 8, 9), [3], [2], [1], True, gen)
    pool_case("max_dilated_overlapping", "max", (1, 3, 7, 8), [2, 3], [1, 2], [1, 1], False, gen, dilation=[2, 1])
    pool_case("max_asymmetric_ceil", "max", (2, 2, 7, 9), [3], [2], [1, 0, 0, 1], True, gen)
    pool_case("max_asymmetric_dilated", "max", (1, 2, 5, 6), [2, 2], [2, 1], [0, 1, 1, 0], False, gen,
              dilation=[1, 2])
    pool_case("avg_k2_default_stride", "avg", (2, 3, 6, 7), [2], [], [0], False, gen)
    pool_case("avg_ceil_counts_padding", "avg", (2, 2, 8, 8), [3], [2], [1], True, gen)
    pool_case("avg_ceil_excludes_padding", "avg", (2, 2, 8, 8), [3], [2], [1], True, gen, count_include_pad=False)
    pool_case("avg_asymmetric_ceil_counts_padding", "avg", (2, 2, 7, 6), [3, 2], [2, 2], [1, 1, 0, 0], True, gen)
    pool_case("avg_asymmetric_excludes_padding", "avg", (1, 2, 5, 7), [2, 3], [1, 2], [0, 2, 1, 1], False, gen,
              count_include_pad=False)

    conv_case("conv2d_asymmetric_padding", (2, 3, 6, 7), 4, [3], [2, 1], [0, 1, 2, 1], [1, 2], gen)
    conv_case("conv2d_asymmetric_rect", (1, 2, 5, 5), 3, [2, 3], [1], [1, 2, 0, 0], [1], gen)
    conv_transpose_case("conv_transpose2d_asymmetric_padding", (2, 3, 3, 4), 2, [3], [2], [1, 0, 0, 2], [1, 1], gen)
    conv_transpose_case("conv_transpose2d_asymmetric_rect", (1, 2, 4, 3), 3, [4, 3], [2, 1], [2, 1, 1, 0], [0, 0],
                        gen)


if __name__ == "__main__":
    main()
