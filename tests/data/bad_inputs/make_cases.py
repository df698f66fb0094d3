#!/usr/bin/python3
"""Writes the binary cases of the bad-input corpus (tensors, checkpoints,
containers, key files) and the fixtures they run against, with numpy, json,
struct and cryptography only (no Keel code). Text cases (graphs, CSV data)
and every NAME.expect sidecar are written by hand. Re-running overwrites
only the files listed here.

    /usr/bin/python3 tests/data/bad_inputs/make_cases.py
"""
import base64
import io
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/data: keelenc
import keelenc  # noqa: E402
KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))


def put(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def npy_raw(header, data=b"", major=1):
    """A .npy with a header dict written as given, padded like NumPy's."""
    text = header.encode()
    prefix = 10 if major == 1 else 12
    pad = 64 - (prefix + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    size = struct.pack("<H", len(text)) if major == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([major, 0]) + size + text + data


def safetensors(tensors, header_extra=None, length_delta=0):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if header_extra:
        header.update(header_extra)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text) + length_delta) + text + data


def container(plain, key=KEY, chunk=16, version=1, kdf=0, logn=0, r=0, p=0):
    return keelenc.seal(plain, key, chunk, prefix=bytes(range(8)), version=version, kdf=kdf, logn=logn, r=r, p=p)


def as_u8(b):
    return npy(np.frombuffer(b, dtype=np.uint8))


# ---- fixtures ------------------------------------------------------------
put("fixtures/x.npy", npy(np.linspace(-1, 1, 8, dtype="<f4").reshape(2, 4)))
put("fixtures/good.key", base64.urlsafe_b64encode(KEY) + b"\n")
PLAIN = npy(np.arange(6, dtype="<f4"))  # what the good container holds
GOOD = container(PLAIN)
put("fixtures/good_container.npy", as_u8(GOOD))

# ---- tensors (fed to fixtures/x_input.yaml: x is f32 [batch, 4]) -----------
put("tensors/huge_shape_claim.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 4), }",
                                            b"\0" * 32))
put("tensors/ten_gb_claim.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (671088640, 4), }",
                                        b"\0" * 32))
put("tensors/shape_overflow.npy", npy_raw("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
put("tensors/truncated_data.npy", npy(np.zeros((2, 4), "<f4"))[:-5])
put("tensors/bad_magic.npy", b"PK\x03\x04 this is a zip file, not a .npy")
put("tensors/empty.npy", b"")
put("tensors/wrong_dtype.npy", npy(np.zeros((2, 4), "<f8")))
put("tensors/wrong_rank.npy", npy(np.zeros((2, 4, 1), "<f4")))
put("tensors/wrong_width.npy", npy(np.zeros((2, 5), "<f4")))
put("tensors/big_endian.npy", npy(np.zeros((2, 4), ">f4")))
put("tensors/fortran_order.npy", npy(np.asfortranarray(np.zeros((2, 4), "<f4"))))
put("tensors/header_length_beyond_file.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr'")
put("tensors/nested_header.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 40 + ")" * 40 + "}"))

# ---- checkpoints (--params for fixtures/linear.yaml: fc.weight [3, 4], fc.bias [3]) --
w = np.zeros((3, 4), "<f4").tobytes()
b = np.zeros(3, "<f4").tobytes()
put("checkpoints/good_reference.safetensors", safetensors({"fc.weight": ("F32", [3, 4], w), "fc.bias": ("F32", [3], b)}))
put("checkpoints/truncated.safetensors",
    safetensors({"fc.weight": ("F32", [3, 4], w), "fc.bias": ("F32", [3], b)})[:-7])
put("checkpoints/header_length_beyond_file.safetensors",
    safetensors({"fc.weight": ("F32", [3, 4], w), "fc.bias": ("F32", [3], b)}, length_delta=1 << 40))
put("checkpoints/huge_shape_claim.safetensors",
    safetensors({"fc.weight": ("F32", [1000000000000, 4], w), "fc.bias": ("F32", [3], b)}))
put("checkpoints/missing_parameter.safetensors", safetensors({"fc.weight": ("F32", [3, 4], w)}))
put("checkpoints/wrong_shape.safetensors",
    safetensors({"fc.weight": ("F32", [4, 3], w), "fc.bias": ("F32", [3], b)}))
put("checkpoints/not_json.safetensors", struct.pack("<Q", 16) + b"{not json at all" + w)
put("checkpoints/empty.safetensors", b"")
overlap = safetensors({"fc.weight": ("F32", [3, 4], w), "fc.bias": ("F32", [3], b)})
overlap = overlap.replace(b'"data_offsets": [48, 60]', b'"data_offsets": [36, 48]')
put("checkpoints/overlapping_offsets.safetensors", overlap)
put("checkpoints/unknown_dtype.safetensors",
    safetensors({"fc.weight": ("F32", [3, 4], w), "fc.bias": ("C64", [3], b)}))

# ---- containers (u8 .npy fed to fixtures/decrypt.yaml, key fixtures/good.key) --
put("containers/wrong_key.npy", as_u8(container(PLAIN, key=OTHER_KEY)))
flipped = bytearray(GOOD)
flipped[70] ^= 0x04
put("containers/bit_flip.npy", as_u8(bytes(flipped)))
header_flip = bytearray(GOOD)
header_flip[40] ^= 0x01  # nonce prefix: authenticated, so every chunk fails
put("containers/header_flip.npy", as_u8(bytes(header_flip)))
put("containers/truncated_chunk.npy", as_u8(GOOD[:-16]))
put("containers/appended_chunk.npy", as_u8(GOOD + GOOD[-32:]))
chunks = [GOOD[56 + i * 32:56 + (i + 1) * 32] for i in range((len(GOOD) - 56) // 32)]
swapped = GOOD[:56] + chunks[1] + chunks[0] + b"".join(chunks[2:]) + GOOD[56 + 32 * len(chunks):]
put("containers/swapped_chunks.npy", as_u8(swapped))
put("containers/bad_magic.npy", as_u8(b"NOTKEEL1" + GOOD[8:]))
put("containers/future_version.npy", as_u8(container(PLAIN, version=2)))
put("containers/empty.npy", as_u8(b""))
put("containers/not_u8.npy", npy(np.zeros(128, "<f4")))

# ---- key files (used as fixtures/decrypt.yaml's key_file) ------------------
put("keys/short_key.key", base64.urlsafe_b64encode(bytes(16)) + b"\n")
put("keys/not_base64.key", b"this is not base64 at all!!\n")
put("keys/empty.key", b"")
put("keys/too_large.key", b"A" * 4096)
put("keys/two_keys.key", base64.urlsafe_b64encode(KEY) + b"\n" + base64.urlsafe_b64encode(KEY) + b"\n")
put("keys/raw_bytes.key", KEY)

# ---- issue 14 (hardening) additions -----------------------------------------
# A shape whose byte count overflows although a dimension is 0: an input
# error, not an allocation that fails later.
put("tensors/zero_dim_overflow.npy",
    npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 0), }"))
# A good tensor, for cases where the environment is what is wrong.
for name in ["max_bytes_decimal", "max_bytes_negative", "max_bytes_overflow", "max_bytes_word"]:
    put("tensors/%s.npy" % name, npy(np.zeros((2, 4), "<f4")))
# Passphrase containers whose scrypt parameters were once accepted but cost
# far more than 2 s or 256 MiB to try: refused before deriving anything.
put("containers/scrypt_work_bomb.enc", container(PLAIN, kdf=1, logn=20, r=8, p=16))
put("containers/scrypt_memory_bomb.enc", container(PLAIN, kdf=1, logn=19, r=8, p=1))
put("containers/scrypt_at_bound.enc", container(PLAIN, kdf=1, logn=15, r=8, p=1))
# A plain checkpoint where a key is given; metadata of another format
# version, of another graph, and a position past an epoch's end (fixture
# train_rows.yaml: four rows in batches of two).
good = {"fc.weight": ("F32", [3, 4], w), "fc.bias": ("F32", [3], b)}
put("checkpoints/plaintext_with_key.safetensors", safetensors(good))
put("checkpoints/future_format.safetensors", safetensors(good, {"__metadata__": {"format": "keel-checkpoint-9"}}))
run = {"format": "keel-checkpoint-1", "graph": "bad-inputs-resume", "step": "1", "epoch": "0", "batch": "1"}
trained = dict(good, **{"optim.fc.weight.momentum_buffer": ("F32", [3, 4], w),
                        "optim.fc.bias.momentum_buffer": ("F32", [3], b)})
put("checkpoints/resume_other_graph.safetensors", safetensors(trained, {"__metadata__": dict(run, graph="someone-else")}))
put("checkpoints/resume_past_epoch.safetensors", safetensors(trained, {"__metadata__": dict(run, batch="3")}))
