"""Shared by the tests/parity/make_*.py scripts: where fixtures go and how
they are written, so every family's fixtures look the same to the C++ side
(tests/common/parity.hpp).

A case is a folder tests/parity/fixtures/<family>/<case>/ holding one .npy
per array: inputs (x, a, b, labels, ...), parameters (param_<name>),
outputs (y, ...), the upstream gradient (grad_y) and the gradients PyTorch
computed (grad_x, grad_param_<name>, ...). float32 unless an array is
integer labels.
"""
import os
import shutil

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def reset_family(family):
    """Removes a family's old fixtures so renamed cases do not linger."""
    path = os.path.join(HERE, "fixtures", family)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save_case(family, case, **arrays):
    path = os.path.join(HERE, "fixtures", family, case)
    os.makedirs(path, exist_ok=True)
    for name, value in arrays.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        value = np.ascontiguousarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        np.save(os.path.join(path, name + ".npy"), value)


def seeded(seed):
    """Deterministic fixtures: the same script run twice writes the same bytes."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    return torch.Generator().manual_seed(seed)
