// The streaming container functions behind `keel encrypt|decrypt` and
// encrypted checkpoints: several read-process-write batches, checked against
// Python's independent reader; a 4 GiB (+5 bytes) sparse input streamed
// without holding it; a failure in a later batch.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <sstream>
#include <streambuf>

#include "container.hpp"
#include "test_support.hpp"

using enctest::Bytes;
using enctest::pattern;
namespace enc = keel::encrypt;

namespace {

const Bytes kKey = pattern(32, 21);

enc::ContainerKey raw_key() {
  enc::ContainerKey k;
  k.kind = enc::ContainerKey::Kind::raw;
  k.secret = CryptoPP::SecByteBlock(kKey.data(), kKey.size());
  return k;
}

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }
Bytes as_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// An input of `n` zero bytes that occupies no memory.
class Zeros : public std::streambuf {
 public:
  explicit Zeros(std::uint64_t n) : left_(n) {}

 protected:
  std::streamsize xsgetn(char* s, std::streamsize count) override {
    const auto k =
        static_cast<std::streamsize>(std::min<std::uint64_t>(left_, static_cast<std::uint64_t>(count)));
    std::memset(s, 0, static_cast<std::size_t>(k));
    left_ -= static_cast<std::uint64_t>(k);
    return k;
  }
  int_type underflow() override { return traits_type::eof(); }

 private:
  std::uint64_t left_;
};

// Keeps the first `head` bytes and the last `tail` bytes written, and counts.
class HeadTail : public std::streambuf {
 public:
  HeadTail(std::size_t head_bytes, std::size_t tail_bytes) : head_n_(head_bytes), tail_n_(tail_bytes) {}
  std::uint64_t count = 0;
  std::string head, tail;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const auto u = static_cast<std::size_t>(n);
    count += u;
    if (head.size() < head_n_) head.append(s, std::min(u, head_n_ - head.size()));
    tail.append(s, u);
    if (tail.size() > tail_n_) tail.erase(0, tail.size() - tail_n_);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      const char ch = static_cast<char>(c);
      xsputn(&ch, 1);
    }
    return c;
  }

 private:
  std::size_t head_n_, tail_n_;
};

}  // namespace

TEST_CASE("a streamed container spanning several batches matches Python's reading and decrypt_bytes") {
  enctest::TempDir dir;
  const std::uint32_t chunk = 64 << 10;  // batches of about 16 MiB: 17 MiB is two of them
  const Bytes plain = pattern((17u << 20) + 333, 31);
  std::istringstream in(as_string(plain));
  std::ostringstream out;
  enc::encrypt_stream(raw_key(), in, plain.size(), out, {}, chunk);
  const Bytes c = as_bytes(out.str());
  CHECK(c.size() == 56 + plain.size() + 16 * ((plain.size() + chunk - 1) / chunk));
  enctest::write_file(dir.file("c"), c);
  enctest::python(enctest::kPythonContainerReader,
                  {enctest::to_hex(kKey), "raw", dir.file("c"), dir.file("p")});
  CHECK(enctest::read_file(dir.file("p")) == plain);

  std::istringstream cin(out.str());
  std::ostringstream back;
  enc::decrypt_stream(raw_key(), cin, c.size(), back);
  CHECK(as_bytes(back.str()) == plain);
}

TEST_CASE("a flipped bit in a later batch fails the streamed decryption") {
  const std::uint32_t chunk = 64 << 10;  // two batches of about 16 MiB, the flip in the second
  const Bytes plain = pattern((17u << 20) + 5, 32);
  std::istringstream in(as_string(plain));
  std::ostringstream out;
  enc::encrypt_stream(raw_key(), in, plain.size(), out, {}, chunk);
  std::string c = out.str();
  c[c.size() - 20] ^= 1;
  std::istringstream cin(c);
  std::ostringstream back;
  CHECK_THROWS_WITH(enc::decrypt_stream(raw_key(), cin, c.size(), back), enc::kAuthFailed);
}

TEST_CASE("a 4 GiB + 5 byte sparse input streams through in bounded memory, Python opens its last chunk") {
  enctest::TempDir dir;
  const std::uint64_t n = (std::uint64_t{1} << 32) + 5;
  const std::uint64_t chunk = enc::kDefaultChunkSize;
  const std::uint64_t chunks = (n + chunk - 1) / chunk;
  Zeros zeros(n);
  std::istream in(&zeros);
  HeadTail sink(56, 5 + 16);
  std::ostream out(&sink);
  enc::encrypt_stream(raw_key(), in, n, out);
  CHECK(sink.count == 56 + n + 16 * chunks);
  // The header's length field, and the last chunk (5 bytes + tag) opened by
  // Python with the nonce docs/encryption.md gives it: counter 4096 with the
  // last-chunk bit.
  enctest::write_file(dir.file("h"), as_bytes(sink.head));
  enctest::write_file(dir.file("t"), as_bytes(sink.tail));
  const std::string got =
      enctest::python(R"PY(
import sys, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key, h, t, chunks = bytes.fromhex(sys.argv[1]), open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read(), int(sys.argv[4])
n = struct.unpack('<Q', h[48:56])[0]
nonce = h[36:44] + struct.pack('>I', (chunks - 1) | 0x80000000)
print(n, AESGCM(key).decrypt(nonce, t, h).hex())
)PY",
                      {enctest::to_hex(kKey), dir.file("h"), dir.file("t"), std::to_string(chunks)});
  CHECK(got == std::to_string(n) + " 0000000000");
}
