"""PyTorch parity fixtures for the batchnorm plugin (batchnorm, layernorm).

Batch-norm cases run two training steps of torch.nn.BatchNorm1d/2d from
given running statistics (step 1 also runs backward), so the C++ test can
check outputs, gradients and the running statistics after one and after two
updates; eval cases normalize with given running statistics. Layer-norm
cases are torch.nn.LayerNorm over the last axis, with and without the
affine parameters.

Run with Debian's PyTorch: /usr/bin/python3 tests/parity/make_batchnorm.py
"""
import torch

from fixture_lib import reset_family, save_case, seeded

FAMILY = "batchnorm"


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def batchnorm_module(channels, rank, momentum, eps):
    cls = torch.nn.BatchNorm1d if rank == 2 else torch.nn.BatchNorm2d
    return cls(channels, eps=eps, momentum=momentum)


def batchnorm_train_case(gen, name, shape, momentum=0.1, eps=1e-5):
    c = shape[1]
    bn = batchnorm_module(c, len(shape), momentum, eps)
    with torch.no_grad():
        bn.weight.copy_(1 + 0.5 * randn(gen, c))
        bn.bias.copy_(randn(gen, c))
        bn.running_mean.copy_(randn(gen, c))
        bn.running_var.copy_(0.5 + torch.rand(c, generator=gen))
    init = {"param_" + k: v.clone() for k, v in (("gamma", bn.weight), ("beta", bn.bias),
                                                  ("running_mean", bn.running_mean),
                                                  ("running_var", bn.running_var))}
    # Offset and scale per channel so the statistics are not trivially 0 and 1.
    bshape = [1, c] + [1] * (len(shape) - 2)
    x = (randn(gen, *shape) * (0.5 + torch.rand(bshape, generator=gen)) + randn(gen, *bshape)).requires_grad_()
    x2 = randn(gen, *shape) * 2.0 - 0.5
    grad_y = randn(gen, *shape)
    bn.train()
    y = bn(x)
    y.backward(grad_y)
    step1 = {"running_mean_1": bn.running_mean.clone(), "running_var_1": bn.running_var.clone()}
    y2 = bn(x2)
    save_case(FAMILY, name, x=x, x2=x2, grad_y=grad_y, y=y, y2=y2, grad_x=x.grad,
              grad_param_gamma=bn.weight.grad, grad_param_beta=bn.bias.grad,
              running_mean_2=bn.running_mean, running_var_2=bn.running_var,
              momentum=torch.tensor([momentum]), epsilon=torch.tensor([eps]), **init, **step1)


def batchnorm_eval_case(gen, name, shape, eps=1e-5):
    c = shape[1]
    bn = batchnorm_module(c, len(shape), 0.1, eps)
    with torch.no_grad():
        bn.weight.copy_(1 + 0.5 * randn(gen, c))
        bn.bias.copy_(randn(gen, c))
        bn.running_mean.copy_(randn(gen, c))
        bn.running_var.copy_(0.2 + torch.rand(c, generator=gen))
    bn.eval()
    x = randn(gen, *shape) * 1.5
    y = bn(x)
    save_case(FAMILY, name, x=x, y=y, param_gamma=bn.weight, param_beta=bn.bias,
              param_running_mean=bn.running_mean, param_running_var=bn.running_var,
              epsilon=torch.tensor([eps]))


def layernorm_case(gen, name, shape, affine=True, eps=1e-5):
    d = shape[-1]
    ln = torch.nn.LayerNorm(d, eps=eps, elementwise_affine=affine)
    gamma = 1 + 0.5 * randn(gen, d)
    beta = randn(gen, d)
    if affine:
        with torch.no_grad():
            ln.weight.copy_(gamma)
            ln.bias.copy_(beta)
    x = (randn(gen, *shape) * 2.0 + 0.7).requires_grad_()
    grad_y = randn(gen, *shape)
    y = ln(x)
    y.backward(grad_y)
    arrays = dict(x=x, y=y, grad_y=grad_y, grad_x=x.grad, epsilon=torch.tensor([eps]),
                  affine=torch.tensor([1 if affine else 0], dtype=torch.int32))
    if affine:
        arrays.update(param_gamma=gamma, param_beta=beta, grad_param_gamma=ln.weight.grad,
                      grad_param_beta=ln.bias.grad)
    save_case(FAMILY, name, **arrays)


def main():
    reset_family(FAMILY)
    gen = seeded(20261128)
    # C = 6 and spatial inputs take the blocked (copying) path; C = 32 with
    # no spatial axes takes the zero-copy nhwc view.
    batchnorm_train_case(gen, "bn1d_train_c6", [16, 6])
    batchnorm_train_case(gen, "bn1d_train_c32", [8, 32], momentum=0.3, eps=1e-3)
    batchnorm_train_case(gen, "bn2d_train_c5", [4, 5, 3, 3])
    batchnorm_train_case(gen, "bn2d_train_c16", [2, 16, 4, 3], momentum=0.05)
    batchnorm_eval_case(gen, "bn1d_eval_c6", [10, 6])
    batchnorm_eval_case(gen, "bn1d_eval_c32", [7, 32], eps=1e-3)
    batchnorm_eval_case(gen, "bn2d_eval_c5", [3, 5, 4, 2])
    layernorm_case(gen, "ln_2d", [6, 10])
    layernorm_case(gen, "ln_3d_eps", [2, 3, 8], eps=1e-3)
    layernorm_case(gen, "ln_no_affine", [5, 7], affine=False)


if __name__ == "__main__":
    main()
