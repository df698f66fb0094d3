"""KEELENC1 containers (docs/encryption.md) written from the format's
description with `cryptography` alone, for the generators of test inputs
(bad_inputs/make_cases.py, ../fuzz/make_seeds.py): no Keel code."""
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def seal(plain, key, chunk, salt=bytes(16), prefix=bytes(8), version=1, kdf=0, logn=0, r=0, p=0):
    """`plain` in chunks of `chunk` bytes, each sealed with AES-256-GCM under
    `key`; the nonce is `prefix` and the chunk counter, whose top bit marks
    the last chunk, and the header is every chunk's associated data."""
    h = struct.pack("<8sBBBBII16s8sIQ", b"KEELENC1", version, 1, kdf, logn, r, p, salt, prefix, chunk,
                    len(plain))
    chunks = max(1, -(-len(plain) // chunk))
    out = h
    for i in range(chunks):
        counter = i | (0x80000000 if i == chunks - 1 else 0)
        out += AESGCM(key).encrypt(prefix + struct.pack(">I", counter), plain[i * chunk:(i + 1) * chunk], h)
    return out
