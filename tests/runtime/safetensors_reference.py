"""An independent safetensors implementation for cross-checking keel's.

Built by hand from the public format description (8-byte little-endian
header length, a JSON header, raw little-endian data), with json, struct and
numpy only, so it shares no code with the C++ reader and writer.

    safetensors_reference.py write PATH   writes the reference tensor set
    safetensors_reference.py check PATH   checks a file holds exactly that set

Element i (flat C order) of each tensor follows the same formulas as
tests/runtime/npy_values.hpp. Exit status 0 means the check passed.
"""
import json
import struct
import sys

import numpy as np

# name -> (safetensors dtype, shape). "w\u00e9ight" tests a non-ASCII name.
TENSORS = {
    "f32_2x3": ("F32", (2, 3)),
    "f64_4": ("F64", (4,)),
    "i32_3x1": ("I32", (3, 1)),
    "i64_2x2": ("I64", (2, 2)),
    "u8_5": ("U8", (5,)),
    "bool_7": ("BOOL", (7,)),
    "f64_scalar": ("F64", ()),
    "f32_0x3": ("F32", (0, 3)),
    "w\u00e9ight": ("F32", (3,)),
}
METADATA = {"format": "pt", "note": "\u00fcn\u00efcode"}

NUMPY_DTYPE = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "|u1", "BOOL": "|b1"}


def values(dtype, shape):
    i = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    v = {
        "F32": (i - 2) / 3.0,
        "F64": (i - 2) / 3.0,
        "I32": 7 * i - 20,
        "I64": 3000000000 * i - 5,
        "U8": (37 * i) % 256,
        "BOOL": i % 3 == 0,
    }[dtype]
    return v.astype(NUMPY_DTYPE[dtype]).reshape(shape)


def write(path):
    # Data in reverse name order while the header lists names sorted, so a
    # reader that confuses header order with data order fails.
    data = b""
    header = {"__metadata__": METADATA}
    for name in sorted(TENSORS, reverse=True):
        dtype, shape = TENSORS[name]
        raw = values(dtype, shape).tobytes()
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    ordered = {"__metadata__": METADATA}
    ordered.update({k: header[k] for k in sorted(TENSORS)})
    text = json.dumps(ordered).encode("utf-8")  # ensure_ascii: the name travels as \u00e9
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def check(path):
    blob = open(path, "rb").read()
    if len(blob) < 8:
        sys.exit("file too short")
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8 != 0:
        sys.exit("header length %d is not a multiple of 8" % n)
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    if header.pop("__metadata__", None) != METADATA:
        sys.exit("metadata differs")
    if set(header) != set(TENSORS):
        sys.exit("names differ: %r" % sorted(header))
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        dtype, shape = TENSORS[name]
        if info["dtype"] != dtype or tuple(info["shape"]) != shape:
            sys.exit("%s: got %s %s" % (name, info["dtype"], info["shape"]))
        begin, end = info["data_offsets"]
        if begin != covered:
            sys.exit("%s: offsets %r leave a gap or overlap" % (name, info["data_offsets"]))
        covered = end
        got = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPE[dtype]).reshape(shape)
        if not np.array_equal(got, values(dtype, shape)):
            sys.exit("%s: values differ: %r" % (name, got))
    if covered != len(data):
        sys.exit("data has %d bytes, tensors cover %d" % (len(data), covered))


if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
