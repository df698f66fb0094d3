// The module's building blocks against published references: base64
// (RFC 4648 vectors), Ed25519 (RFC 8032 vectors), BLAKE2b-512 (RFC 7693's
// "abc" and Python's hashlib on a file larger than the read chunk), and
// minisign's public key line as minisign printed it.
#include <sys/types.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "base/error.hpp"
#include "cli_util.hpp"
#include "trust/base64.hpp"
#include "trust/digest.hpp"
#include "trust/ed25519.hpp"
#include "trust/keys.hpp"
#include "trust_util.hpp"

using namespace keel::trust;
using trusttest::from_hex;
using trusttest::to_hex;

namespace {

std::string decode_text(const std::string& s) {
  const auto d = base64_decode(s);
  REQUIRE(d);
  return std::string(d->begin(), d->end());
}

}  // namespace

TEST_CASE("base64 matches the RFC 4648 vectors both ways") {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()) == encoded);
    CHECK(decode_text(encoded) == plain);
  }
}

TEST_CASE("base64 decoding refuses everything but the one canonical encoding") {
  // Unused bits set ("Zh==" would also read as "f"), missing or misplaced
  // padding, characters outside the alphabet, whitespace, url-safe letters.
  for (const std::string bad : {"Zh==", "Zm9=", "Zg=", "Zg", "Z===", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm-v",
                                "Zm_v", "Zm9v====", "=Zm9", "Zm=v"}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
}

TEST_CASE("Ed25519 keys and signatures match the RFC 8032 test vectors") {
  struct Vector {
    std::string seed, pub, message, signature;
  };
  const std::vector<Vector> vectors = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf"
       "5f0"
       "595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2"
       "eae"
       "b4302aeeb00d291612bb0c00"}};
  for (const auto& v : vectors) {
    const auto seed = from_hex(v.seed);
    const auto message = from_hex(v.message);
    const Ed25519Public pub = ed25519_public_key(seed.data());
    CHECK(to_hex(pub) == v.pub);
    const Ed25519Signature sig = ed25519_sign(seed.data(), message.data(), message.size());
    CHECK(to_hex(sig) == v.signature);
    CHECK(ed25519_verify(pub, message.data(), message.size(), sig));
    std::vector<std::uint8_t> other = message;
    other.push_back(0);
    CHECK_FALSE(ed25519_verify(pub, other.data(), other.size(), sig));
  }
}

TEST_CASE("an Ed25519 signature whose S is not reduced below the group order is refused") {
  const auto seed = from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const Ed25519Public pub = ed25519_public_key(seed.data());
  const std::uint8_t msg[] = {1, 2, 3};
  Ed25519Signature sig = ed25519_sign(seed.data(), msg, sizeof msg);
  REQUIRE(ed25519_verify(pub, msg, sizeof msg, sig));
  // S + L encodes the same scalar: libsodium (minisign) refuses it, as must keel.
  const auto order = from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = sig[32 + i] + order[i] + carry;
    sig[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  REQUIRE(carry == 0);
  CHECK_FALSE(ed25519_verify(pub, msg, sizeof msg, sig));
}

TEST_CASE("BLAKE2b-512 matches RFC 7693 and Python's hashlib on a file read in several chunks") {
  const std::string abc = "abc";
  CHECK(to_hex(hash_bytes(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size())) ==
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d3"
        "8aa8"
        "dbf1925ab92386edd4009923");
  keel::test::TempDir dir;
  std::string bytes(3 * (1 << 20) + 12345, '\0');
  std::mt19937 rng(7);
  for (auto& c : bytes) c = static_cast<char>(rng());
  const auto file = dir.write("data.bin", bytes);
  const auto py = keel::test::run_process(
      {"/usr/bin/python3", "-c",
       "import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],'rb').read()).hexdigest())",
       file.string()});
  REQUIRE(py.exit_code == 0);
  trusttest::OpenFile f(file);
  // The descriptor's offset is neither used nor moved: a loader reads on.
  REQUIRE(::lseek(f.fd(), 100, SEEK_SET) == 100);
  CHECK(to_hex(hash_fd(f.fd(), file.string())) + "\n" == py.out);
  CHECK(::lseek(f.fd(), 0, SEEK_CUR) == 100);
}

TEST_CASE("a public key line written by minisign reads with the key ID minisign printed") {
  // From `minisign -G`: "untrusted comment: minisign public key 9C0D3955021A264F".
  const std::string text =
      "untrusted comment: minisign public key 9C0D3955021A264F\n"
      "RWRPJhoCVTkNnCzGhNg0WOma4hkuSPRja86Az4bVR1doeErDFVyJ/TLf\n";
  const PublicKey key = parse_public_key(text, "p.pub");
  CHECK(key_id_hex(key.id) == "9C0D3955021A264F");
  CHECK(public_key_base64(key) == "RWRPJhoCVTkNnCzGhNg0WOma4hkuSPRja86Az4bVR1doeErDFVyJ/TLf");
  CHECK(parse_public_key(format_public_key(key), "again").key == key.key);
}

TEST_CASE("a malformed public key file is refused with one line naming it") {
  const std::string line = "RWRPJhoCVTkNnCzGhNg0WOma4hkuSPRja86Az4bVR1doeErDFVyJ/TLf";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"untrusted comment: x\n",
       "p.pub: not a minisign public key: expected 2 lines (a comment and the key), found 1"},
      {"comment: x\n" + line + "\n",
       "p.pub: malformed minisign public key: expected a line starting with "
       "'untrusted comment: '"},
      {"untrusted comment: x\n" + line.substr(0, 52) + "\n",
       "p.pub: malformed minisign public key: line 2 is not base64 of 42 bytes"},
      // "RWR" is "Ed"; "RUR" is "ED", a signature algorithm, not a key's.
      {"untrusted comment: x\nRUR" + line.substr(3) + "\n",
       "p.pub: malformed minisign public key: not an Ed25519 key (algorithm is not 'Ed')"}};
  for (const auto& [text, message] : cases) {
    try {
      parse_public_key(text, "p.pub");
      FAIL("accepted: " << text);
    } catch (const keel::Error& e) {
      CHECK(e.format() == message);
      CHECK(e.code() == keel::ExitCode::usage);
    }
  }
}
