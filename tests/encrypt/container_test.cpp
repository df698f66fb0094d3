// Round trips and every way a container can be damaged or attacked; each
// failure must name its cause with the documented message.
#include "container.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

using enctest::Bytes;
using enctest::pattern;
namespace enc = keel::encrypt;

namespace {

const Bytes kKey = pattern(32, 7);
const Bytes kOtherKey = pattern(32, 8);
constexpr std::uint32_t kChunk = 64;

std::string decrypt_error(const Bytes& container, const Bytes& key = kKey) {
  try {
    enc::decrypt_bytes(key, container);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

std::size_t chunk_offset(std::size_t index) { return enc::kHeaderSize + index * (kChunk + enc::kTagSize); }

void set_length(Bytes& c, std::uint64_t n) {
  for (int i = 0; i < 8; ++i) c[48 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
}

}  // namespace

TEST_CASE("containers round-trip for empty, tiny, exact-chunk, chunk+1 and many-chunk plaintexts") {
  for (std::size_t n : {0, 1, 63, 64, 65, 128, 1000, 64 * 97 + 5}) {
    INFO("n = " << n);
    const Bytes plain = pattern(n, static_cast<std::uint32_t>(n));
    const Bytes c = enc::encrypt_bytes(kKey, plain, kChunk);
    const std::size_t chunks = n == 0 ? 1 : (n + kChunk - 1) / kChunk;
    CHECK(c.size() == enc::kHeaderSize + n + chunks * enc::kTagSize);
    CHECK(enc::decrypt_bytes(kKey, c) == plain);
  }
}

TEST_CASE("a multi-megabyte plaintext with the default chunk size round-trips across worker threads") {
  const Bytes plain = pattern(5 * enc::kDefaultChunkSize + 3, 3);
  const Bytes c = enc::encrypt_bytes(kKey, plain);
  CHECK(c.size() == enc::kHeaderSize + plain.size() + 6 * enc::kTagSize);
  CHECK(enc::decrypt_bytes(kKey, c) == plain);
  CHECK(enc::worker_count(6) == std::min(6u, std::max(1u, std::thread::hardware_concurrency())));
}

TEST_CASE("two encryptions of the same plaintext differ (fresh nonce prefix per file)") {
  const Bytes plain = pattern(100);
  CHECK(enc::encrypt_bytes(kKey, plain, kChunk) != enc::encrypt_bytes(kKey, plain, kChunk));
}

TEST_CASE("decrypting with the wrong key fails authentication") {
  const Bytes c = enc::encrypt_bytes(kKey, pattern(200), kChunk);
  CHECK(decrypt_error(c, kOtherKey) == enc::kAuthFailed);
}

TEST_CASE(
    "every flipped bit in the header is detected, flips in authenticated-only fields fail authentication") {
  const Bytes c = enc::encrypt_bytes(kKey, pattern(150), kChunk);
  for (std::size_t byte = 0; byte < enc::kHeaderSize; ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      INFO("byte " << byte << " bit " << bit);
      Bytes bad = c;
      bad[byte] ^= static_cast<std::uint8_t>(1 << bit);
      const std::string err = decrypt_error(bad);
      CHECK(err != "(no error)");
      // r, p (unused with a raw key), salt and nonce prefix have no
      // structural meaning: only the tag can catch them.
      if (byte >= 12 && byte < 44) CHECK(err == enc::kAuthFailed);
    }
}

TEST_CASE("every flipped bit in chunk ciphertexts and tags fails authentication") {
  const Bytes c = enc::encrypt_bytes(kKey, pattern(100), kChunk);
  for (std::size_t byte = enc::kHeaderSize; byte < c.size(); ++byte) {
    INFO("byte " << byte);
    Bytes bad = c;
    bad[byte] ^= static_cast<std::uint8_t>(1 << (byte % 8));
    CHECK(decrypt_error(bad) == enc::kAuthFailed);
  }
}

TEST_CASE("every truncation of a small file is reported as a truncated header or chunk") {
  const Bytes c = enc::encrypt_bytes(kKey, pattern(150), kChunk);
  for (std::size_t len = 0; len < c.size(); ++len) {
    INFO("length " << len);
    const std::string err = decrypt_error(Bytes(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(len)));
    if (len == 0)
      CHECK(err == "empty file: not a Keel encrypted file");
    else if (len < enc::kHeaderSize)
      CHECK(err == enc::kTruncatedHeader);
    else
      CHECK(err == enc::kTruncatedChunk);
  }
}

TEST_CASE("dropping the last chunk and patching the length fails authentication") {
  Bytes c = enc::encrypt_bytes(kKey, pattern(3 * kChunk), kChunk);
  c.resize(chunk_offset(2));
  set_length(c, 2 * kChunk);
  CHECK(decrypt_error(c) == enc::kAuthFailed);
}

TEST_CASE("an appended chunk is rejected, with or without a patched length") {
  const Bytes c = enc::encrypt_bytes(kKey, pattern(2 * kChunk), kChunk);
  Bytes appended = c;
  appended.insert(appended.end(), c.begin() + static_cast<std::ptrdiff_t>(chunk_offset(1)), c.end());
  CHECK(decrypt_error(appended) == enc::kTrailingData);
  set_length(appended, 3 * kChunk);
  CHECK(decrypt_error(appended) == enc::kAuthFailed);
}

TEST_CASE("two swapped chunks fail authentication") {
  const Bytes c = enc::encrypt_bytes(kKey, pattern(3 * kChunk), kChunk);
  Bytes bad = c;
  const std::size_t n = kChunk + enc::kTagSize;
  std::swap_ranges(bad.begin() + static_cast<std::ptrdiff_t>(chunk_offset(0)),
                   bad.begin() + static_cast<std::ptrdiff_t>(chunk_offset(0) + n),
                   bad.begin() + static_cast<std::ptrdiff_t>(chunk_offset(1)));
  CHECK(decrypt_error(bad) == enc::kAuthFailed);
}

TEST_CASE("a chunk taken from another file under the same key fails authentication") {
  const Bytes a = enc::encrypt_bytes(kKey, pattern(2 * kChunk, 1), kChunk);
  const Bytes b = enc::encrypt_bytes(kKey, pattern(2 * kChunk, 1), kChunk);
  Bytes spliced = a;
  std::copy(b.begin() + static_cast<std::ptrdiff_t>(chunk_offset(1)), b.end(),
            spliced.begin() + static_cast<std::ptrdiff_t>(chunk_offset(1)));
  CHECK(decrypt_error(spliced) == enc::kAuthFailed);
}

TEST_CASE("files that are not containers, or of another version, are named as such") {
  CHECK(decrypt_error({}) == "empty file: not a Keel encrypted file");
  CHECK(decrypt_error(Bytes{'P', 'K', 3, 4}) == enc::kBadMagic);
  Bytes c = enc::encrypt_bytes(kKey, pattern(10), kChunk);
  Bytes other = c;
  other[3] = 'X';
  CHECK(decrypt_error(other) == enc::kBadMagic);
  other = c;
  other[8] = 2;
  CHECK(decrypt_error(other) == "unsupported version 2 (this build reads version 1)");
  other = c;
  other[9] = 7;
  CHECK(decrypt_error(other) == "unsupported algorithm 7");
  other = c;
  set_length(other, ~std::uint64_t{0});
  CHECK(decrypt_error(other) == enc::kTruncatedChunk);
}

TEST_CASE("bad arguments to encrypt are rejected") {
  CHECK_THROWS_AS(enc::encrypt_bytes(Bytes(16), pattern(10)), std::invalid_argument);
  CHECK_THROWS_AS(enc::encrypt_bytes(kKey, pattern(10), 0), std::invalid_argument);
  CHECK_THROWS_AS(enc::decrypt_bytes(Bytes(31), enc::encrypt_bytes(kKey, pattern(10))),
                  std::invalid_argument);
}

TEST_CASE("passphrase containers store scrypt parameters and salt, and reject the wrong passphrase") {
  const Bytes plain = pattern(300);
  const enc::ScryptParams fast{10, 8, 1};
  const Bytes c = enc::encrypt_bytes_with_passphrase("correct horse", plain, fast, kChunk);
  CHECK(c[10] == 1);
  CHECK(c[11] == 10);
  CHECK(enc::decrypt_bytes_with_passphrase("correct horse", c) == plain);
  CHECK_THROWS_WITH(enc::decrypt_bytes_with_passphrase("correct horsf", c), enc::kAuthFailed);
  CHECK_THROWS_WITH(enc::decrypt_bytes(kKey, c), "this file was encrypted with a passphrase, not a raw key");
  CHECK_THROWS_WITH(enc::decrypt_bytes_with_passphrase("x", enc::encrypt_bytes(kKey, plain)),
                    "this file was encrypted with a raw key, not a passphrase");
}

TEST_CASE("a header asking scrypt for too much memory is refused before deriving anything") {
  Bytes c = enc::encrypt_bytes_with_passphrase("pw", pattern(10), {10, 8, 1}, kChunk);
  c[11] = 40;
  CHECK_THROWS_WITH(enc::decrypt_bytes_with_passphrase("pw", c),
                    Catch::Matchers::StartsWith("unsupported scrypt parameters: log2(N)=40 r=8 p=1"));
  CHECK_THROWS_AS(enc::encrypt_bytes_with_passphrase("pw", pattern(10), {21, 8, 1}), std::runtime_error);
}
