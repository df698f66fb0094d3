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
    enctest::python(enctest::kPythonContainerReader, {to_hex(kKey), "raw", dir.file("c"), dir.file("p")});
    CHECK(enctest::read_file(dir.file("p")) == plain);
  }
}

TEST_CASE("Python decrypts passphrase containers Keel writes, deriving the key with hashlib.scrypt") {
  enctest::TempDir dir;
  const Bytes plain = pattern(777, 6);
  enctest::write_file(dir.file("c"),
                      enc::encrypt_bytes_with_passphrase("s3cret pass", plain, {10, 8, 2}, 256));
  enctest::python(enctest::kPythonContainerReader, {"s3cret pass", "scrypt", dir.file("c"), dir.file("p")});
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
