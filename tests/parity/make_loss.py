"""PyTorch reference values for the loss family of the nn plugin (mse,
softmax_cross_entropy, dropout, standardize), read by
tests/nn/loss_parity_test.cpp.

Array names follow the ops' port names: the losses take prediction/target
or logits/labels and return loss (upstream gradient grad_loss); dropout and
standardize take x and return y (upstream gradient grad_y). Attributes the
C++ side must pass are stored as attr_<name>.

Dropout's training mask cannot match PyTorch's (a different generator), so
only the cases without randomness are compared here: p = 0 while training,
and inference. The random mask is checked by its properties in
tests/nn/dropout_test.cpp.

Run with Debian's interpreter: /usr/bin/python3 tests/parity/make_loss.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "loss"


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def mse_case(name, shape, reduction, gen):
    prediction = leaf(torch.randn(shape, generator=gen))
    target = leaf(torch.randn(shape, generator=gen))
    loss = F.mse_loss(prediction, target, reduction=reduction)
    grad_loss = torch.rand((), generator=gen) + 0.5
    loss.backward(grad_loss)
    save_case(FAMILY, name, prediction=prediction, target=target, loss=loss, grad_loss=grad_loss,
              grad_prediction=prediction.grad, grad_target=target.grad)


def cross_entropy_case(name, logits, labels, reduction, label_dtype, gen):
    logits = leaf(logits)
    loss = F.cross_entropy(logits, labels, reduction=reduction)
    grad_loss = torch.rand((), generator=gen) + 0.5
    loss.backward(grad_loss)
    save_case(FAMILY, name, logits=logits, labels=labels.numpy().astype(label_dtype), loss=loss,
              grad_loss=grad_loss, grad_logits=logits.grad)


def main():
    gen = seeded(20240607)
    reset_family(FAMILY)

    mse_case("mse_mean", (4, 5), "mean", gen)
    mse_case("mse_sum", (3, 2, 4), "sum", gen)

    cross_entropy_case("cross_entropy_mean_i64", 3 * torch.randn((6, 5), generator=gen),
                       torch.randint(0, 5, (6,), generator=gen), "mean", np.int64, gen)
    cross_entropy_case("cross_entropy_sum_i32", torch.randn((4, 7), generator=gen),
                       torch.randint(0, 7, (4,), generator=gen), "sum", np.int32, gen)
    # Logits far outside exp()'s f32 range: a naive softmax gives inf/NaN.
    extreme = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]])
    cross_entropy_case("cross_entropy_extreme", extreme, torch.tensor([0, 2, 1, 1]), "mean", np.int64, gen)

    x = leaf(torch.randn((5, 6), generator=gen))
    y = F.dropout(x, p=0.0, training=True)
    grad_y = torch.randn((5, 6), generator=gen)
    y.backward(grad_y)
    save_case(FAMILY, "dropout_p0_training", x=x, y=y, grad_y=grad_y, grad_x=x.grad)
    x = torch.randn((5, 6), generator=gen)
    save_case(FAMILY, "dropout_inference", x=x, y=F.dropout(x, p=0.5, training=False))

    for name, as_attrs in (("standardize_params", False), ("standardize_attrs", True)):
        x = leaf(3 * torch.randn((8, 4), generator=gen) + 2)
        mean = torch.randn((4,), generator=gen)
        std = torch.rand((4,), generator=gen) * 2 + 0.25
        epsilon = 1e-3
        y = (x - mean) / (std + epsilon)
        grad_y = torch.randn((8, 4), generator=gen)
        y.backward(grad_y)
        stats = {"attr_mean": mean, "attr_std": std} if as_attrs else {"param_mean": mean, "param_std": std}
        save_case(FAMILY, name, x=x, y=y, grad_y=grad_y, grad_x=x.grad,
                  attr_epsilon=np.array(epsilon, dtype=np.float32), **stats)


if __name__ == "__main__":
    main()
