"""PyTorch parity fixtures for the nn plugin's layer ops (linear,
activations, softmax, flatten, reshape). Run with Debian's python3:

    /usr/bin/python3 tests/parity/make_layer.py

Each case stores x, the op's parameters (param_weight, param_bias), y, a
random upstream gradient grad_y and PyTorch's gradients of sum(grad_y * y).
The attributes of each case are fixed in tests/nn/layer_parity_test.cpp.
"""
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case, seeded

FAMILY = "layer"


def run(case, x, fn, **params):
    x = x.clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    y = fn(x, **params)
    grad_y = torch.randn(y.shape, generator=GEN)
    y.backward(grad_y)
    arrays = {"x": x, "y": y, "grad_y": grad_y, "grad_x": x.grad}
    for name, p in params.items():
        arrays["param_" + name] = p
        arrays["grad_param_" + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    save_case(FAMILY, case, **arrays)


GEN = seeded(20240607)
reset_family(FAMILY)

# linear: PyTorch's own layout, weight [units, in].
run("linear_bias", torch.randn(4, 6, generator=GEN), lambda x, weight, bias: F.linear(x, weight, bias),
    weight=torch.randn(5, 6, generator=GEN) * 0.5, bias=torch.randn(5, generator=GEN))
run("linear_batched", torch.randn(2, 3, 8, generator=GEN), lambda x, weight, bias: F.linear(x, weight, bias),
    weight=torch.randn(4, 8, generator=GEN) * 0.5, bias=torch.randn(4, generator=GEN))
# bias=false: the bias parameter exists but is unused; its gradient is zero.
run("linear_nobias", torch.randn(3, 2, 4, generator=GEN), lambda x, weight, bias: F.linear(x, weight),
    weight=torch.randn(3, 4, generator=GEN) * 0.5, bias=torch.randn(3, generator=GEN))

act_x = lambda: torch.randn(4, 8, generator=GEN) * 3
run("leaky_relu_default", act_x(), lambda x: F.leaky_relu(x))
run("leaky_relu_0.2", act_x(), lambda x: F.leaky_relu(x, 0.2))
run("gelu_none", act_x(), lambda x: F.gelu(x))
run("gelu_tanh", act_x(), lambda x: F.gelu(x, approximate="tanh"))
run("tanh", act_x(), torch.tanh)
run("sigmoid", act_x(), torch.sigmoid)

run("softmax_last", torch.randn(4, 10, generator=GEN) * 3, lambda x: F.softmax(x, dim=-1))
run("softmax_axis1", torch.randn(2, 5, 3, generator=GEN) * 3, lambda x: F.softmax(x, dim=1))

run("flatten_axis1", torch.randn(2, 3, 4, generator=GEN), lambda x: torch.flatten(x, 1))
run("reshape_wild", torch.randn(2, 3, 4, generator=GEN), lambda x: x.reshape(4, -1))
