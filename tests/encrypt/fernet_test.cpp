// Fernet against Python's cryptography.fernet, both directions, including
// the TTL and clock-skew rules at fixed times.
#include "fernet.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "base64url.hpp"
#include "test_support.hpp"

using enctest::Bytes;
using enctest::from_hex;
using enctest::pattern;
using enctest::to_hex;
namespace enc = keel::encrypt;

namespace {

// argv: key token ttl-or-none now-or-none; prints the plaintext as hex or INVALID
const char* const kPythonDecrypt = R"PY(
import sys
from cryptography.fernet import Fernet, InvalidToken
key, token, ttl, now = sys.argv[1:5]
f = Fernet(key.encode())
try:
    if now == 'none':
        out = f.decrypt(token.encode())
    else:
        out = f.decrypt_at_time(token.encode(), int(ttl), int(now))
    print(out.hex())
except InvalidToken:
    print('INVALID')
)PY";

// argv: key plaintext-hex time; prints the token
const char* const kPythonEncrypt = R"PY(
import sys
from cryptography.fernet import Fernet
key, plain, t = sys.argv[1:4]
print(Fernet(key.encode()).encrypt_at_time(bytes.fromhex(plain), int(t)).decode())
)PY";

std::string fernet_error(const enc::FernetKey& key, const std::string& token, std::optional<std::int64_t> ttl,
                         std::int64_t now) {
  try {
    enc::fernet_decrypt_at(key, token, ttl, now);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("base64url encodes with padding and decodes strictly") {
  CHECK(enc::base64url_encode(Bytes{}) == "");
  CHECK(enc::base64url_encode(Bytes{0xfb}) == "-w==");
  CHECK(enc::base64url_encode(Bytes{0xfb, 0xff}) == "-_8=");
  CHECK(enc::base64url_encode(Bytes{'f', 'o', 'o'}) == "Zm9v");
  CHECK(enc::base64url_decode("-_8=") == Bytes{0xfb, 0xff});
  CHECK_FALSE(enc::base64url_decode("-_8").has_value());   // unpadded
  CHECK_FALSE(enc::base64url_decode("+/8=").has_value());  // standard alphabet
  CHECK_FALSE(enc::base64url_decode("-_9=").has_value());  // nonzero unused bits
  CHECK_FALSE(enc::base64url_decode("Zm=v").has_value());
}

TEST_CASE("Python's Fernet decrypts tokens Keel writes, with a key Python generated") {
  const std::string key_text =
      enctest::python("from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())");
  const enc::FernetKey key(key_text);
  CHECK(key.encoded() == key_text);
  for (std::size_t n : {0, 1, 15, 16, 17, 1000}) {
    INFO("n = " << n);
    const Bytes plain = pattern(n, static_cast<std::uint32_t>(n) + 1);
    const std::string token = enc::fernet_encrypt(key, plain);
    CHECK(enctest::python(kPythonDecrypt, {key_text, token, "none", "none"}) == to_hex(plain));
  }
}

TEST_CASE("Keel decrypts tokens Python's Fernet writes, with a key Keel generated") {
  const enc::FernetKey key = enc::FernetKey::generate();
  for (std::size_t n : {0, 5, 16, 300}) {
    INFO("n = " << n);
    const Bytes plain = pattern(n, 77);
    const std::string token = enctest::python(kPythonEncrypt, {key.encoded(), to_hex(plain), "1700000000"});
    CHECK(enc::fernet_decrypt(key, token) == plain);
  }
}

TEST_CASE("TTL and clock skew: Keel accepts and rejects Python's tokens at the same times Python does") {
  const enc::FernetKey key = enc::FernetKey::generate();
  const std::string token = enctest::python(kPythonEncrypt, {key.encoded(), "abcd", "1000"});
  CHECK(enc::fernet_decrypt_at(key, token, 60, 1060) == from_hex("abcd"));
  CHECK(fernet_error(key, token, 60, 1061) == enc::kInvalidFernetToken);
  CHECK(enc::fernet_decrypt_at(key, token, 60, 940) == from_hex("abcd"));
  CHECK(fernet_error(key, token, 60, 939) == enc::kInvalidFernetToken);
  // Without a TTL the timestamp is not checked at all, as in Python.
  CHECK(enc::fernet_decrypt_at(key, token, std::nullopt, 5) == from_hex("abcd"));
  CHECK(enc::fernet_decrypt_at(key, token, std::nullopt, 1000000) == from_hex("abcd"));
}

TEST_CASE("TTL and clock skew: Python accepts and rejects Keel's tokens at the same times Keel does") {
  const enc::FernetKey key = enc::FernetKey::generate();
  const std::string token = enc::fernet_encrypt_at(key, from_hex("0102"), 1000);
  auto at = [&](const char* now) {
    return enctest::python(kPythonDecrypt, {key.encoded(), token, "60", now});
  };
  CHECK(at("1060") == "0102");
  CHECK(at("1061") == "INVALID");
  CHECK(at("940") == "0102");
  CHECK(at("939") == "INVALID");
}

TEST_CASE("a token is invalid after any byte is changed, under another key, or unpadded") {
  const enc::FernetKey key = enc::FernetKey::generate();
  const std::string token = enc::fernet_encrypt_at(key, pattern(20), 1000);
  const Bytes raw = *enc::base64url_decode(token);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    INFO("byte " << i);
    Bytes bad = raw;
    bad[i] ^= 0x04;
    CHECK(fernet_error(key, enc::base64url_encode(bad), std::nullopt, 1000) == enc::kInvalidFernetToken);
  }
  for (std::size_t len : {std::size_t{0}, std::size_t{9}, std::size_t{72}, raw.size() - 1}) {
    INFO("truncated to " << len);
    const Bytes cut(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(len));
    CHECK(fernet_error(key, enc::base64url_encode(cut), std::nullopt, 1000) == enc::kInvalidFernetToken);
  }
  CHECK(fernet_error(enc::FernetKey::generate(), token, std::nullopt, 1000) == enc::kInvalidFernetToken);
  std::string unpadded = token;
  while (unpadded.back() == '=') unpadded.pop_back();
  REQUIRE(unpadded != token);
  CHECK(fernet_error(key, unpadded, std::nullopt, 1000) == enc::kInvalidFernetToken);
  CHECK(fernet_error(key, "not base64!", std::nullopt, 1000) == enc::kInvalidFernetToken);
}

TEST_CASE("a Fernet key must be padded url-safe base64 of exactly 32 bytes") {
  CHECK_THROWS_WITH(enc::FernetKey("c2hvcnQ="), "invalid Fernet key: it must decode to 32 bytes, not 5");
  CHECK_THROWS_WITH(enc::FernetKey("***"), "invalid Fernet key: not url-safe base64 with padding");
}
