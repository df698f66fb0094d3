"""The training references' checkpoint reader: json + struct following the
safetensors layout, so the references never depend on Keel's reader."""
import json
import struct

import numpy as np


def read_safetensors(path):
    """Every F32 tensor of a safetensors file, as float64 arrays by name."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + e], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out
