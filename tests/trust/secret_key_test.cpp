// Secret key files that are not what they claim: each refused with one line
// naming the file, before any costly work (a crafted file cannot make keel
// run scrypt with unbounded memory).
#include "trust/secret_key.hpp"

#include <catch2/catch.hpp>
#include <chrono>

#include "base/error.hpp"
#include "cli_util.hpp"
#include "trust/base64.hpp"

using namespace keel::trust;
namespace fs = std::filesystem;

namespace {

// The 158 bytes of a key file in the clear as `minisign -G -W` writes it:
// "Ed", no KDF, "B2", zero salt and limits, key ID, secret key, and a
// zero checksum.
std::vector<std::uint8_t> clear_key_bytes(const SecretKey& key) {
  std::vector<std::uint8_t> b(158, 0);
  b[0] = 'E';
  b[1] = 'd';
  b[4] = 'B';
  b[5] = '2';
  std::copy(key.id.begin(), key.id.end(), b.begin() + 54);
  std::copy(key.bytes.begin(), key.bytes.end(), b.begin() + 62);
  return b;
}

fs::path write_key(const keel::test::TempDir& dir, const std::vector<std::uint8_t>& bytes) {
  const auto p =
      dir.write("s.key", "untrusted comment: test\n" + base64_encode(bytes.data(), bytes.size()) + "\n");
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  return p;
}

std::string refusal(const fs::path& p, std::string_view passphrase = {}) {
  try {
    read_secret_key_file(p, passphrase);
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    return e.format();
  }
  return "accepted";
}

void store_le64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

TEST_CASE("a secret key in the clear with minisign's zero checksum reads, and a damaged one is refused") {
  keel::test::TempDir dir;
  const auto key = generate_secret_key();
  auto bytes = clear_key_bytes(*key);
  const auto p = write_key(dir, bytes);
  const auto read = read_secret_key_file(p, {});
  CHECK(read->id == key->id);
  CHECK(read->bytes == key->bytes);
  // A changed public half no longer belongs to the seed.
  bytes[62 + 40] ^= 1;
  write_key(dir, bytes);
  CHECK(refusal(p) ==
        p.string() + ": secret key file is damaged: its public key does not belong to its secret key");
  // A checksum present but wrong.
  bytes[62 + 40] ^= 1;
  bytes[126] = 1;
  write_key(dir, bytes);
  CHECK(refusal(p) == p.string() + ": secret key file is damaged (its checksum does not match)");
}

TEST_CASE("a secret key asking for unbounded scrypt work or an unknown scheme is refused at once") {
  keel::test::TempDir dir;
  const auto key = generate_secret_key();
  auto bytes = clear_key_bytes(*key);
  bytes[2] = 'S';
  bytes[3] = 'c';
  store_le64(bytes, 38, std::uint64_t{1} << 40);  // opslimit
  store_le64(bytes, 46, std::uint64_t{1} << 40);  // memlimit: 1 TiB
  const auto p = write_key(dir, bytes);
  const auto start = std::chrono::steady_clock::now();
  CHECK(refusal(p, "pass") ==
        p.string() +
            ": secret key file asks for scrypt parameters beyond keel's limits (opslimit "
            "1099511627776, memlimit 1099511627776)");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  bytes[2] = 'X';
  write_key(dir, bytes);
  CHECK(refusal(p, "pass") ==
        p.string() + ": malformed minisign secret key: unknown key derivation (neither 'Sc' nor none)");
  bytes[2] = 0;
  bytes[3] = 0;
  bytes[4] = 'B';
  bytes[5] = '3';
  write_key(dir, bytes);
  CHECK(refusal(p) == p.string() + ": malformed minisign secret key: unknown checksum algorithm (not 'B2')");
  bytes.pop_back();
  write_key(dir, bytes);
  CHECK(refusal(p) == p.string() + ": malformed minisign secret key: line 2 is not base64 of 158 bytes");
}

TEST_CASE("keel's secret key file never replaces an existing file") {
  keel::test::TempDir dir;
  const auto key = generate_secret_key();
  const auto p = dir.write("s.key", "keep me\n");
  CHECK_THROWS_WITH(write_secret_key_file(p, *key, {}), "'" + p.string() + "' already exists");
  CHECK(keel::test::slurp(p) == "keep me\n");
}
