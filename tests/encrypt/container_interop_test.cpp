// The container format checked against an independent implementation of
// docs/encryption.md in Python (cryptography's AESGCM, hashlib.scrypt):
// Python reads what Keel writes and Keel reads what Python writes.
#include <catch2/catch.hpp>

#include "container.hpp"
#include "test_support.hpp"

using enctest::Bytes;
using enctest::pattern;
using enctest::to_hex;
namespace enc = keel::encrypt;

namespace {

// argv: key-hex-or-passphrase kind(raw|scrypt) in-file out-file
const char* const kPythonReader = R"PY(
import sys, struct, hashlib
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
secret, kind, src, dst = sys.argv[1:5]
data = open(src, 'rb').read()
h = data[:56]
magic, ver, alg, kdf, logn, r, p, salt, prefix, cs, n = struct.unpack('<8sBBBBII16s8sIQ', h)
assert magic == b'KEELENC1' and ver == 1 and alg == 1, (magic, ver, alg)
if kind == 'raw':
    assert kdf == 0 and logn == 0 and r == 0 and p == 0 and salt == bytes(16)
    key = bytes.fromhex(secret)
else:
    assert kdf == 1
    key = hashlib.scrypt(secret.encode(), salt=salt, n=2**logn, r=r, p=p, dklen=32)
chunks = max(1, -(-n // cs))
off, out = 56, b''
for i in range(chunks):
    ln = min(cs, n - i * cs)
    counter = i | (0x80000000 if i == chunks - 1 else 0)
    out += AESGCM(key).decrypt(prefix + struct.pack('>I', counter), data[off:off + ln + 16], h)
    off += ln + 16
assert off == len(data), (off, len(data))
open(dst, 'wb').write(out)
)PY";

// argv: key-hex chunk-size in-file out-file
const char* const kPythonWriter = R"PY(
import sys, struct, os
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key, cs, src, dst = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
plain = open(src, 'rb').read()
n = len(plain)
prefix = os.urandom(8)
h = struct.pack('<8sBBBBII16s8sIQ', b'KEELENC1', 1, 1, 0, 0, 0, 0, bytes(16), prefix, cs, n)
chunks = max(1, -(-n // cs))
out = h
for i in range(chunks):
    counter = i | (0x80000000 if i == chunks - 1 else 0)
    out += AESGCM(key).encrypt(prefix + struct.pack('>I', counter), plain[i * cs:(i + 1) * cs], h)
open(dst, 'wb').write(out)
)PY";

const Bytes kKey = pattern(32, 11);

}  // namespace

TEST_CASE("Python, following docs/encryption.md, decrypts raw-key containers Keel writes") {
  enctest::TempDir dir;
  for (std::size_t n : {0, 1, 100, 4096, 10000}) {
    INFO("n = " << n);
    const Bytes plain = pattern(n, 5);
    enctest::write_file(dir.file("c"), enc::encrypt_bytes(kKey, plain, 4096));
    enctest::python(kPythonReader, {to_hex(kKey), "raw", dir.file("c"), dir.file("p")});
    CHECK(enctest::read_file(dir.file("p")) == plain);
  }
}

TEST_CASE("Python decrypts passphrase containers Keel writes, deriving the key with hashlib.scrypt") {
  enctest::TempDir dir;
  const Bytes plain = pattern(777, 6);
  enctest::write_file(dir.file("c"),
                      enc::encrypt_bytes_with_passphrase("s3cret pass", plain, {10, 8, 2}, 256));
  enctest::python(kPythonReader, {"s3cret pass", "scrypt", dir.file("c"), dir.file("p")});
  CHECK(enctest::read_file(dir.file("p")) == plain);
}

TEST_CASE("Keel decrypts containers Python writes from the specification") {
  enctest::TempDir dir;
  for (std::size_t n : {0, 1, 64, 65, 3000}) {
    INFO("n = " << n);
    const Bytes plain = pattern(n, 9);
    enctest::write_file(dir.file("p"), plain);
    enctest::python(kPythonWriter, {to_hex(kKey), "64", dir.file("p"), dir.file("c")});
    const Bytes c = enctest::read_file(dir.file("c"));
    CHECK(enc::decrypt_bytes(kKey, c) == plain);
  }
}
