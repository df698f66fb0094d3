"""PyTorch reference values for the nn plugin's ops for generative models
(bce_with_logits, concat, split, stop_gradient, full_like), read by
tests/nn/generative_parity_test.cpp.

Array names follow the ops' port names: bce_with_logits takes logits and
target and returns loss (upstream gradient grad_loss); concat takes a and b
and returns y; split takes x and returns a and b; stop_gradient and
full_like take x and return y. Upstream gradients are grad_<output>, input
gradients grad_<input>. Attributes the C++ side must pass are stored as
attr_<name>.

Run with Debian's interpreter: /usr/bin/python3 tests/parity/make_generative_nn.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "generative_nn"


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def bce_case(name, logits, target, reduction, gen):
    logits, target = leaf(logits), leaf(target)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction=reduction)
    grad_loss = torch.rand((), generator=gen) + 0.5
    loss.backward(grad_loss)
    save_case(FAMILY, name, logits=logits, target=target, loss=loss, grad_loss=grad_loss,
              grad_logits=logits.grad, grad_target=target.grad)


def concat_case(name, a_shape, b_shape, axis, gen):
    a = leaf(torch.randn(a_shape, generator=gen))
    b = leaf(torch.randn(b_shape, generator=gen))
    y = torch.cat([a, b], dim=axis)
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    save_case(FAMILY, name, a=a, b=b, y=y, grad_y=grad_y, grad_a=a.grad, grad_b=b.grad,
              attr_axis=np.array(axis, dtype=np.int64))


def split_case(name, shape, axis, gen):
    x = leaf(torch.randn(shape, generator=gen))
    a, b = torch.chunk(x, 2, dim=axis)
    grad_a = torch.randn(a.shape, generator=gen)
    grad_b = torch.randn(b.shape, generator=gen)
    torch.autograd.backward([a, b], [grad_a, grad_b])
    save_case(FAMILY, name, x=x, a=a, b=b, grad_a=grad_a, grad_b=grad_b, grad_x=x.grad,
              attr_axis=np.array(axis, dtype=np.int64))


def main():
    gen = seeded(20261202)
    reset_family(FAMILY)

    bce_case("bce_mean", 3 * torch.randn((4, 5), generator=gen), torch.rand((4, 5), generator=gen), "mean", gen)
    bce_case("bce_sum", torch.randn((2, 3, 4), generator=gen),
             torch.randint(0, 2, (2, 3, 4), generator=gen).float(), "sum", gen)
    # Logits far outside exp()'s f32 range: log(sigmoid(x)) computed naively
    # gives -inf, its gradient NaN.
    extreme = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 30.0], [-30.0, 1e4, -1e4]])
    bce_case("bce_extreme", extreme, torch.tensor([[1.0, 0.0, 0.5], [1.0, 0.0, 0.0], [1.0, 0.25, 1.0]]), "mean",
             gen)

    concat_case("concat_batch", (2, 1, 3, 3), (3, 1, 3, 3), 0, gen)
    concat_case("concat_features", (4, 3), (4, 5), 1, gen)
    concat_case("concat_negative_axis", (2, 3, 2), (2, 3, 1), -1, gen)

    split_case("split_batch", (6, 1), 0, gen)
    split_case("split_middle", (2, 4, 3), 1, gen)
    split_case("split_negative_axis", (3, 2, 6), -1, gen)

    # detach(): the values pass, and the input gets no gradient (None).
    x = leaf(torch.randn((3, 4), generator=gen))
    y = x.detach()
    save_case(FAMILY, "stop_gradient", x=x, y=y)

    for name, value in (("full_like_ones", 1.0), ("full_like_zeros", 0.0), ("full_like_value", -2.75)):
        x = torch.randn((3, 1, 2), generator=gen)
        save_case(FAMILY, name, x=x, y=torch.full_like(x, value), attr_value=np.array(value, dtype=np.float32))


if __name__ == "__main__":
    main()
