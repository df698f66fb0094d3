// Hex helpers and a runner for /usr/bin/python3 (which has the
// `cryptography` package), the independent peer the encrypt tests check
// against.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "process.hpp"

namespace enctest {

using Bytes = std::vector<std::uint8_t>;

// An independent reader of the container (docs/encryption.md) in Python:
// cryptography's AESGCM and hashlib.scrypt.
// argv: key-hex-or-passphrase kind(raw|scrypt) in-file out-file
inline const char* const kPythonContainerReader = R"PY(
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
    key = hashlib.scrypt(secret.encode(), salt=salt, n=2**logn, r=r, p=p, maxmem=2**30, dklen=32)
chunks = max(1, -(-n // cs))
off, out = 56, []
for i in range(chunks):
    ln = min(cs, n - i * cs)
    counter = i | (0x80000000 if i == chunks - 1 else 0)
    out.append(AESGCM(key).decrypt(prefix + struct.pack('>I', counter), data[off:off + ln + 16], h))
    off += ln + 16
assert off == len(data), (off, len(data))
open(dst, 'wb').write(b''.join(out))
)PY";

// Runs kPythonContainerReader once per (secret, kind, in, out) group of
// `args`, in one interpreter (starting Python is the slow part).
inline const char* const kPythonContainerReaderLoop = R"PY(
import sys
reader, args = sys.argv[1], sys.argv[2:]
for i in range(0, len(args), 4):
    sys.argv = ['reader'] + args[i:i + 4]
    exec(reader, {})
)PY";

inline Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string to_hex(const Bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

inline Bytes pattern(std::size_t n, std::uint32_t seed = 1) {
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<std::uint8_t>(x);
  }
  return b;
}

// Runs a Python snippet with args; returns stdout with trailing whitespace
// removed, failing the test on a non-zero exit.
inline std::string python(const std::string& code, const std::vector<std::string>& args = {}) {
  std::vector<std::string> argv{"/usr/bin/python3", "-c", code};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = keel::test::run_process(argv);
  INFO("python stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("keel-enc-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace enctest
