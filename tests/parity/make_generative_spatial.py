"""PyTorch parity fixtures for the nn plugin's image-growing ops, the layers
of a DCGAN-style generator: conv_transpose2d (torch.nn.ConvTranspose2d) and
upsample (F.interpolate, mode='nearest'). Each case stores its attributes as
int64 arrays (attr_filters, attr_kernel, attr_stride, attr_padding,
attr_output_padding, attr_bias; attr_scale for upsample) so the C++ tests
build the node from the fixture alone.

Run with Debian's PyTorch: /usr/bin/python3 tests/parity/make_generative_spatial.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "generative_spatial"


def conv_transpose_case(name, gen, n, c, h, w, filters, kernel, stride, padding, output_padding, bias):
    x = torch.randn(n, c, h, w, generator=gen, requires_grad=True)
    conv = torch.nn.ConvTranspose2d(c, filters, kernel, stride=stride, padding=padding,
                                    output_padding=output_padding, bias=bias)
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
              attr_output_padding=np.array(output_padding, np.int64),
              attr_bias=np.array([int(bias)], np.int64))


def upsample_case(name, gen, shape, scale):
    x = torch.randn(*shape, generator=gen, requires_grad=True)
    y = F.interpolate(x, scale_factor=scale, mode="nearest")
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad, attr_scale=np.array([scale], np.int64))


def main():
    reset_family(FAMILY)
    gen = seeded(2025)
    # A generator's first layer: a 1x1 code projected to a 4x4 image.
    conv_transpose_case("project_1x1_to_4x4", gen, 2, 8, 1, 1, 6, [4, 4], [1, 1], [0, 0], [0, 0], True)
    # The doubling block (kernel 4, stride 2, padding 1): 4x4 -> 8x8.
    conv_transpose_case("double_k4_s2_p1", gen, 3, 4, 4, 4, 3, [4, 4], [2, 2], [1, 1], [0, 0], True)
    conv_transpose_case("stride1_3x3", gen, 1, 3, 5, 5, 2, [3, 3], [1, 1], [0, 0], [0, 0], True)
    # Non-square everything; output padding larger than the padding, so
    # oneDNN's right padding is negative.
    conv_transpose_case("rect_output_padding_no_bias", gen, 2, 2, 3, 4, 4, [3, 2], [2, 3], [1, 0], [1, 2],
                        False)
    # Padding as large as the kernel: the output is cropped inside.
    conv_transpose_case("crop_k3_s2_p2_op1", gen, 2, 3, 5, 6, 2, [3, 3], [2, 2], [2, 2], [1, 1], True)
    upsample_case("upsample_2x", gen, (2, 3, 4, 4), 2)
    upsample_case("upsample_3x_rect", gen, (1, 2, 3, 5), 3)
    upsample_case("upsample_1x", gen, (2, 1, 2, 3), 1)


if __name__ == "__main__":
    main()
