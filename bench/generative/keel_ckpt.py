"""Keel checkpoints (safetensors) read with NumPy, and loaded into the
PyTorch peers of torch_models.py: Keel's trained parameters evaluated by
PyTorch are an independent check of Keel's own hold-out numbers.

Names: Keel's `NODE.PARAM` (enc_fc1.weight, enc_bn1.gamma, ...) against
torch's module paths (enc.fc1.weight, enc.bn1.weight, ...); batchnorm's
gamma and beta are torch's weight and bias.
"""
import json
import struct

import numpy as np

BN_PARAMS = {"gamma": "weight", "beta": "bias", "running_mean": "running_mean", "running_var": "running_var"}


def read(path):
    """{name: f32 array} of a plain safetensors file; None when the file is
    not one (a sealed checkpoint)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        return None
    (size,) = struct.unpack("<Q", raw[:8])
    if size > len(raw) - 8 or raw[8:9] != b"{":
        return None
    header = json.loads(raw[8 : 8 + size])
    base, out = 8 + size, {}
    for name, t in header.items():
        if name == "__metadata__" or t.get("dtype") != "F32":
            continue
        lo, hi = t["data_offsets"]
        out[name] = np.frombuffer(raw[base + lo : base + hi], dtype="<f4").reshape(t["shape"])
    return out


def non_finite(path):
    """Names of the parameters and running statistics (not the optimizer's
    `optim.` state) holding a NaN or an infinity; None for a sealed file."""
    tensors = read(path)
    if tensors is None:
        return None
    return [n for n, a in tensors.items() if not n.startswith("optim.") and not np.isfinite(a).all()]


def torch_name(keel_name):
    """enc_fc1.weight -> enc.fc1.weight, enc_bn1.gamma -> enc.bn1.weight,
    g_fc1.weight -> G.g_fc1.weight, d_out.bias -> D.d_out.bias,
    mu.weight -> mu.weight."""
    node, param = keel_name.split(".", 1)
    if "_bn" in node:
        param = BN_PARAMS.get(param, param)
    if node.startswith(("enc_", "dec_")):
        return node.replace("_", ".", 1) + "." + param
    if node.startswith("g_"):
        return "G." + node + "." + param
    if node.startswith("d_"):
        return "D." + node + "." + param
    return node + "." + param


def load_into(model, path):
    """Copies a Keel checkpoint's parameters into a torch_models module;
    every torch parameter and buffer (but batchnorm's step counter) must be
    found, with its shape."""
    import torch

    tensors = read(path)
    if tensors is None:
        raise ValueError(f"{path}: not a plain safetensors checkpoint (sealed?)")
    state = model.state_dict()
    mapped = {torch_name(n): a for n, a in tensors.items() if not n.startswith("optim.")}
    missing = [k for k in state if k not in mapped and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"{path}: no Keel parameter for {', '.join(missing)} (has {', '.join(sorted(tensors))})")
    for k in state:
        if k in mapped:
            if tuple(mapped[k].shape) != tuple(state[k].shape):
                raise ValueError(f"{path}: {k} is {list(mapped[k].shape)} in Keel, {list(state[k].shape)} here")
            state[k] = torch.from_numpy(mapped[k].copy())
    model.load_state_dict(state)
    return model
