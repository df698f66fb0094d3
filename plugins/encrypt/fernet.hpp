// Fernet (https://github.com/fernet/spec), interoperable with Python's
// cryptography.fernet: a token is base64url (padded) of
//   0x80 | timestamp (u64 BE) | IV (16) | AES-128-CBC-PKCS7 ciphertext | HMAC-SHA256 (32)
// with the key's first 16 bytes signing and its last 16 bytes encrypting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "primitives.hpp"

namespace keel::encrypt {

// Every token that cannot be accepted fails with exactly this message, so a
// caller learns nothing about which check failed.
inline constexpr const char* kInvalidFernetToken = "invalid Fernet token";
// Tokens newer than now by more than this are rejected when a TTL is given.
inline constexpr std::int64_t kFernetMaxClockSkew = 60;

class FernetKey {
 public:
  // Parses a url-safe base64 key of 32 bytes; throws std::invalid_argument
  // ("invalid Fernet key: ...") otherwise.
  explicit FernetKey(std::string_view encoded);
  static FernetKey generate();
  // From the 32 raw bytes (a key file's content); std::invalid_argument otherwise.
  static FernetKey from_raw(ByteSpan raw);
  std::string encoded() const;

  ByteSpan signing_key() const { return {key_.data(), 16}; }
  ByteSpan encryption_key() const { return {key_.data() + 16, 16}; }

 private:
  FernetKey() : key_(32) {}
  CryptoPP::SecByteBlock key_;
};

std::int64_t unix_now();

std::string fernet_encrypt(const FernetKey& key, ByteSpan plaintext);
std::string fernet_encrypt_at(const FernetKey& key, ByteSpan plaintext, std::uint64_t timestamp);

// Python's rule: with a TTL, a token older than ttl seconds, or from more
// than kFernetMaxClockSkew seconds in the future, is invalid; without one,
// the timestamp is not checked. Throws std::runtime_error(kInvalidFernetToken).
Bytes fernet_decrypt(const FernetKey& key, std::string_view token, std::optional<std::int64_t> ttl = {});
Bytes fernet_decrypt_at(const FernetKey& key, std::string_view token, std::optional<std::int64_t> ttl,
                        std::int64_t now);

}  // namespace keel::encrypt
