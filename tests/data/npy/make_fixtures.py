"""Writes the .npy fixtures for tests/runtime/npy_read_test.cpp.

Regenerate (the output is deterministic; commit it) with:

    /usr/bin/python3 tests/data/npy/make_fixtures.py

valid/ holds files NumPy wrote, one per dtype and layout. Element i (flat,
C order) of every valid file follows the formula for its dtype, which the
C++ tests compute independently (tests/runtime/npy_values.hpp):

    f32  float32((i - 2) / 3)     f64  (i - 2) / 3
    i32  7 * i - 20               i64  3_000_000_000 * i - 5
    u8   (37 * i) % 256           bool i % 3 == 0

bad/ holds the malformed corpus; each file is one defect the reader must
report (see the test for the message each one must produce).
"""

import io
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
VALID = os.path.join(HERE, "valid")
BAD = os.path.join(HERE, "bad")


def values(kind, shape):
    i = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    v = {
        "f32": ((i - 2) / 3.0).astype(np.float32),
        "f64": (i - 2) / 3.0,
        "i32": (7 * i - 20).astype(np.int32),
        "i64": 3_000_000_000 * i - 5,
        "u8": ((37 * i) % 256).astype(np.uint8),
        "bool": i % 3 == 0,
    }[kind]
    return v.reshape(shape)


def save(folder, name, array, version=None):
    with open(os.path.join(folder, name), "wb") as f:
        np.lib.format.write_array(f, array, version=version)


def raw(folder, name, header, data=b""):
    """A version 1.0 file with a hand-written header, padded as NumPy pads."""
    body = header.encode("latin1")
    body += b" " * ((-(10 + len(body) + 1)) % 64) + b"\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body + data
    with open(os.path.join(folder, name), "wb") as f:
        f.write(blob)


def npy_bytes(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array)
    return buf.getvalue()


def write_bad(name, blob):
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(blob)


def main():
    os.makedirs(VALID, exist_ok=True)
    os.makedirs(BAD, exist_ok=True)

    # One file per dtype, over ranks 0 to 3 and an empty array.
    save(VALID, "f32_3x4.npy", values("f32", (3, 4)))
    save(VALID, "f64_2x3x4.npy", values("f64", (2, 3, 4)))
    save(VALID, "i32_5.npy", values("i32", (5,)))
    save(VALID, "i64_2x3.npy", values("i64", (2, 3)))
    save(VALID, "u8_4x4.npy", values("u8", (4, 4)))
    save(VALID, "bool_7.npy", values("bool", (7,)))
    save(VALID, "f64_scalar.npy", values("f64", ()))
    save(VALID, "f32_0x3.npy", values("f32", (0, 3)))
    save(VALID, "i64_2x5_v2.npy", values("i64", (2, 5)), version=(2, 0))
    save(VALID, "f32_3_v3.npy", values("f32", (3,)), version=(3, 0))
    # Headers NumPy accepts but does not write: other key order, double
    # quotes, odd whitespace, no trailing comma, Python 2 longs, '<u1'.
    raw(VALID, "i32_2x3_odd_header.npy",
        '{"shape":(2,3),"fortran_order" :False,\t"descr":"<i4"}',
        values("i32", (2, 3)).tobytes())
    raw(VALID, "f64_2x2_py2_longs.npy",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 2L), }",
        values("f64", (2, 2)).tobytes())
    raw(VALID, "u8_3_little_endian_descr.npy",
        "{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }",
        values("u8", (3,)).tobytes())

    good = npy_bytes(values("f32", (3, 4)))  # 128-byte preamble + 48 bytes
    write_bad("empty.npy", b"")
    write_bad("bad_magic.npy", b"\x93NUMPZ" + good[6:])
    write_bad("text_file.npy", b"a,b,c\n1,2,3\n")
    write_bad("version_4.npy", good[:6] + b"\x04\x00" + good[8:])
    write_bad("truncated_header.npy", good[:70])
    write_bad("truncated_length.npy", good[:9])
    write_bad("truncated_data.npy", good[:-4])
    write_bad("trailing_data.npy", good + b"\x00\x00\x00")
    save(BAD, "fortran.npy", np.asfortranarray(values("f32", (2, 3))))
    save(BAD, "big_endian.npy", values("f32", (3,)).astype(">f4"))
    save(BAD, "complex.npy", np.arange(3, dtype="<c8"))
    save(BAD, "unicode.npy", np.array(["abc", "de"], dtype="<U3"))
    save(BAD, "int16.npy", np.arange(3, dtype="<i2"))
    save(BAD, "structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    hdr = "{'descr': %r, 'fortran_order': False, 'shape': %s, }"
    raw(BAD, "huge_overflow.npy", hdr % ("<f4", "(1099511627776, 1099511627776)"), b"\0" * 16)
    raw(BAD, "huge_claim.npy", hdr % ("<f8", "(1099511627776,)"), b"\0" * 16)
    raw(BAD, "negative_dim.npy", hdr % ("<f4", "(-1, 3)"))
    raw(BAD, "float_dim.npy", hdr % ("<f4", "(2.5,)"))
    raw(BAD, "string_dim.npy", hdr % ("<f4", "('2',)"))
    raw(BAD, "shape_list.npy", hdr % ("<f4", "[2, 3]"), b"\0" * 24)
    raw(BAD, "deep_nesting.npy", hdr % ("<f4", "(" * 5000 + ")" * 5000))
    raw(BAD, "garbage_header.npy", "this is not a dict at all")
    raw(BAD, "unterminated_dict.npy", "{'descr': '<f4', 'fortran_order': False, ")
    raw(BAD, "missing_key.npy", "{'descr': '<f4', 'shape': (2,), }", b"\0" * 8)
    raw(BAD, "extra_key.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }", b"\0" * 8)
    raw(BAD, "duplicate_key.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,), }", b"\0" * 8)
    raw(BAD, "fortran_order_int.npy",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", b"\0" * 8)
    raw(BAD, "bool_2.npy", hdr % ("|b1", "(4,)"), bytes([1, 0, 2, 1]))
    write_bad("header_too_long.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 50_000_000) + b"{")


if __name__ == "__main__":
    main()
