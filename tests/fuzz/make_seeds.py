#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) from the
repository's own data, with Python's json, struct, numpy and cryptography only,
so the seeds share no code with the readers they exercise. Re-run after
changing a format; files are overwritten, nothing else is touched.

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import base64
import glob
import io
import json
import os
import shutil
import struct
import sys

import numpy as np
from cryptography.fernet import Fernet
import hashlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "data"))
import keelenc  # noqa: E402
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
KEY = bytes(range(32))  # the container target's fixed key
PASSPHRASE = b"fuzz passphrase"


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def graphs():
    for pattern in ["graphs/*.yaml", "tests/data/good_graphs/*.yaml", "tests/data/bad_graphs/*.yaml",
                    "bench/graphs/*.yaml"]:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            prefix = os.path.basename(os.path.dirname(path))
            with open(path, "rb") as f:
                put("graph", prefix + "_" + os.path.basename(path), f.read())


def npy():
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/data/npy/valid/*.npy"))):
        shutil.copy(path, os.path.join(CORPUS, "npy", os.path.basename(path)))
    digits = np.loadtxt(os.path.join(ROOT, "graphs/data/digits.csv"), delimiter=",", max_rows=4)
    for name, arr in {"digits_f32.npy": digits.astype("<f4"), "labels_i64.npy": digits[:, -1].astype("<i8")}.items():
        buf = io.BytesIO()
        np.save(buf, arr)
        put("npy", name, buf.getvalue())


def safetensors_bytes(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors():
    rng = np.random.default_rng(7)
    put("safetensors", "checkpoint_like.safetensors", safetensors_bytes({
        "fc1.weight": ("F32", rng.standard_normal((4, 3)).astype("<f4")),
        "fc1.bias": ("F32", np.zeros(4, "<f4")),
        "bn1.running_mean": ("F32", np.zeros(4, "<f4")),
        "step": ("I64", np.array(12, "<i8")),
        "mask": ("BOOL", np.array([1, 0, 1], "|u1")),
    }, {"format": "keel", "epoch": "3"}))
    put("safetensors", "all_dtypes.safetensors", safetensors_bytes({
        "a": ("F64", np.arange(3, dtype="<f8")), "b": ("I32", np.arange(2, dtype="<i4").reshape(2, 1)),
        "c": ("U8", np.arange(5, dtype="|u1")), "empty": ("F32", np.zeros((0, 3), "<f4")),
    }))
    put("safetensors", "empty_header.safetensors", safetensors_bytes({}))


def container(plain, chunk, kdf=0, logn=0, r=0, p=0):
    salt = os.urandom(16) if kdf else bytes(16)
    key = hashlib.scrypt(PASSPHRASE, salt=salt, n=2 ** logn, r=r, p=p, dklen=32) if kdf else KEY
    return keelenc.seal(plain, key, chunk, salt=salt, prefix=os.urandom(8), kdf=kdf, logn=logn, r=r, p=p)


def containers():
    # The first byte selects the target's mode (see fuzz_container.cpp).
    with open(os.path.join(ROOT, "tests/data/npy/valid/f32_3x4.npy"), "rb") as f:
        tensor = f.read()
    put("container", "raw_one_chunk", b"\x00" + container(tensor, 1 << 20))
    put("container", "raw_many_chunks", b"\x00" + container(tensor, 40))
    put("container", "raw_empty", b"\x00" + container(b"", 16))
    put("container", "roundtrip", b"\x01" + tensor[:80])
    put("container", "scrypt", b"\x02" + container(b"secret weights", 8, kdf=1, logn=4, r=1, p=1))
    token = Fernet(base64.urlsafe_b64encode(KEY)).encrypt(b"sealed output")
    put("container", "fernet", b"\x03" + token)
    put("container", "key_file", b"\x04" + base64.urlsafe_b64encode(KEY) + b"\n")


def csv():
    # The first two bytes choose the column bindings (see fuzz_csv.cpp).
    with open(os.path.join(ROOT, "graphs/data/digits.csv"), "rb") as f:
        digits = b"".join(f.readlines()[:5])
    with open(os.path.join(ROOT, "graphs/data/diabetes_data_raw.csv"), "rb") as f:
        diabetes = b"".join(f.readlines()[:5])
    put("csv", "digits", b"\x12\x02" + digits)
    put("csv", "diabetes_ws", b"\x01\x83" + diabetes)
    put("csv", "comments_crlf", b"\x00\x00" + b"# header comment\r\n1,2,3\r\n\r\n4,5,6\r\n")
    put("csv", "floats", b"\x08\x41" + b"1.5e3 -2 0.25\n3 4 5\n")


if __name__ == "__main__":
    graphs()
    npy()
    safetensors()
    containers()
    csv()
