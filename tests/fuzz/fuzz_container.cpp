// The encrypted container reader with a fixed key (plus Fernet tokens and
// passphrase headers with cheap scrypt parameters). The first byte picks the
// mode; the rest is the input:
//   0: decrypt_bytes(fixed key, input): must throw std::runtime_error (any
//      forged or damaged file) or return a plaintext of the header's length;
//   1: encrypt input with a chunk size taken from its first bytes, then
//      decrypt: must give the input back; a flipped byte must be rejected;
//   2: decrypt_bytes_with_passphrase, only when the header asks scrypt for
//      little work (the reader's own limits allow up to 1 GiB and seconds);
//   3: fernet_decrypt(fixed key, input as a token);
//   4: the input as a key file.
// Any other exception type, crash, leak or hang is a finding.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "container.hpp"
#include "fernet.hpp"
#include "fuzz_util.hpp"
#include "key_file.hpp"

namespace {

namespace enc = keel::encrypt;

const std::uint8_t kKey[32] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                               0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                               0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
// base64url of kKey.
constexpr std::string_view kFernetKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::uint32_t le32(enc::ByteSpan s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && at + i < s.size(); ++i) v |= std::uint32_t{s[at + i]} << (8 * i);
  return v;
}

void decrypt_raw(enc::ByteSpan in) {
  try {
    const enc::Bytes plain = enc::decrypt_bytes(enc::ByteSpan(kKey, 32), in);
    keel::fuzz::require(plain.size() + enc::kHeaderSize <= in.size(), "plaintext fits its container");
  } catch (const std::runtime_error& e) {
    keel::fuzz::require_one_line(e.what());
  }
}

void round_trip(enc::ByteSpan in) {
  // Small chunks (many per input) without making each run slow: every
  // chunk sets up its own GCM tables.
  const std::uint32_t chunk = 1 + le32(in, 0) % 256;
  const enc::Bytes sealed = enc::encrypt_bytes(enc::ByteSpan(kKey, 32), in, chunk);
  keel::fuzz::require(enc::decrypt_bytes(enc::ByteSpan(kKey, 32), sealed) == enc::Bytes(in.begin(), in.end()),
                      "decrypt(encrypt(x)) == x");
  enc::Bytes tampered = sealed;
  const std::size_t at = le32(in, 4) % tampered.size();
  tampered[at] ^= static_cast<std::uint8_t>(1u << (in.empty() ? 0 : in[0] % 8));
  try {
    enc::decrypt_bytes(enc::ByteSpan(kKey, 32), tampered);
    keel::fuzz::require(false, "a flipped bit is detected");
  } catch (const std::runtime_error& e) {
    keel::fuzz::require_one_line(e.what());
  }
}

void decrypt_passphrase(enc::ByteSpan in) {
  // log2(N) at byte 11, r at 12..15, p at 16..19 (docs/encryption.md).
  if (in.size() < 20 || in[11] > 8 || le32(in, 12) > 4 || le32(in, 16) > 2) return;
  try {
    enc::decrypt_bytes_with_passphrase("fuzz passphrase", in);
  } catch (const std::runtime_error& e) {
    keel::fuzz::require_one_line(e.what());
  }
}

void decrypt_fernet(enc::ByteSpan in) {
  static const enc::FernetKey key{kFernetKey};
  try {
    enc::fernet_decrypt(key, std::string_view(reinterpret_cast<const char*>(in.data()), in.size()), 60);
  } catch (const std::runtime_error& e) {
    keel::fuzz::require(std::string_view(e.what()) == enc::kInvalidFernetToken,
                        "every bad token gets the same message");
  }
}

void load_key(enc::ByteSpan in) {
  const auto path =
      keel::fuzz::scratch_file(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()), ".key");
  try {
    keel::fuzz::require(enc::load_key_file(path.string()).size() == enc::kKeySize, "keys are 32 bytes");
  } catch (const std::runtime_error& e) {
    keel::fuzz::require_one_line(e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const enc::ByteSpan in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      decrypt_raw(in);
      break;
    case 1:
      round_trip(in);
      break;
    case 2:
      decrypt_passphrase(in);
      break;
    case 3:
      decrypt_fernet(in);
      break;
    default:
      load_key(in);
      break;
  }
  return 0;
}
