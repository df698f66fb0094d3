#include "fernet.hpp"

#include <cryptopp/aes.h>
#include <cryptopp/filters.h>
#include <cryptopp/hmac.h>
#include <cryptopp/modes.h>
#include <cryptopp/sha.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "base64url.hpp"

namespace keel::encrypt {

namespace {

constexpr std::uint8_t kVersionByte = 0x80;
constexpr std::size_t kTimestampSize = 8, kIvSize = 16, kBlock = 16, kMacSize = 32;
constexpr std::size_t kPrefixSize = 1 + kTimestampSize + kIvSize;

// Python compares with unbounded integers; 128 bits is enough for a u64
// timestamp plus an i64 TTL.
__extension__ typedef __int128 Wide;

[[noreturn]] void invalid_token() { throw std::runtime_error(kInvalidFernetToken); }

void mac(const FernetKey& key, ByteSpan data, std::uint8_t* out) {
  CryptoPP::HMAC<CryptoPP::SHA256> h(key.signing_key().data(), key.signing_key().size());
  h.CalculateDigest(out, data.data(), data.size());
}

}  // namespace

FernetKey::FernetKey(std::string_view encoded) : key_(32) {
  const auto raw = base64url_decode(encoded);
  if (!raw) throw std::invalid_argument("invalid Fernet key: not url-safe base64 with padding");
  if (raw->size() != 32)
    throw std::invalid_argument("invalid Fernet key: it must decode to 32 bytes, not " +
                                std::to_string(raw->size()));
  std::memcpy(key_.data(), raw->data(), 32);
}

FernetKey FernetKey::generate() {
  FernetKey k;
  random_bytes(k.key_.data(), k.key_.size());
  return k;
}

FernetKey FernetKey::from_raw(ByteSpan raw) {
  if (raw.size() != 32)
    throw std::invalid_argument("invalid Fernet key: it must be 32 bytes, not " + std::to_string(raw.size()));
  FernetKey k;
  std::memcpy(k.key_.data(), raw.data(), 32);
  return k;
}

std::string FernetKey::encoded() const { return base64url_encode({key_.data(), key_.size()}); }

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string fernet_encrypt(const FernetKey& key, ByteSpan plaintext) {
  return fernet_encrypt_at(key, plaintext, static_cast<std::uint64_t>(unix_now()));
}

std::string fernet_encrypt_at(const FernetKey& key, ByteSpan plaintext, std::uint64_t timestamp) {
  const std::size_t padded = (plaintext.size() / kBlock + 1) * kBlock;
  Bytes token(kPrefixSize + padded + kMacSize);
  token[0] = kVersionByte;
  for (std::size_t i = 0; i < kTimestampSize; ++i)
    token[1 + i] = static_cast<std::uint8_t>(timestamp >> (8 * (kTimestampSize - 1 - i)));
  std::uint8_t* iv = token.data() + 1 + kTimestampSize;
  random_bytes(iv, kIvSize);
  CryptoPP::CBC_Mode<CryptoPP::AES>::Encryption cbc(key.encryption_key().data(), key.encryption_key().size(),
                                                    iv);
  CryptoPP::ArraySink sink(token.data() + kPrefixSize, padded);
  CryptoPP::StreamTransformationFilter filter(cbc, new CryptoPP::Redirector(sink),
                                              CryptoPP::StreamTransformationFilter::PKCS_PADDING);
  filter.Put(plaintext.data(), plaintext.size());
  filter.MessageEnd();
  if (sink.TotalPutLength() != padded) throw std::logic_error("unexpected Fernet ciphertext length");
  mac(key, ByteSpan(token.data(), kPrefixSize + padded), token.data() + kPrefixSize + padded);
  return base64url_encode(token);
}

Bytes fernet_decrypt(const FernetKey& key, std::string_view token, std::optional<std::int64_t> ttl) {
  return fernet_decrypt_at(key, token, ttl, unix_now());
}

Bytes fernet_decrypt_at(const FernetKey& key, std::string_view token, std::optional<std::int64_t> ttl,
                        std::int64_t now) {
  const auto data = base64url_decode(token);
  if (!data || data->size() < kPrefixSize + kBlock + kMacSize || data->front() != kVersionByte ||
      (data->size() - kPrefixSize - kMacSize) % kBlock != 0)
    invalid_token();
  std::uint64_t timestamp = 0;
  for (std::size_t i = 0; i < kTimestampSize; ++i) timestamp = (timestamp << 8) | (*data)[1 + i];
  if (ttl) {
    if (Wide{timestamp} + *ttl < Wide{now}) invalid_token();
    if (Wide{now} + kFernetMaxClockSkew < Wide{timestamp}) invalid_token();
  }
  const std::size_t signed_len = data->size() - kMacSize;
  std::uint8_t expected[kMacSize];
  mac(key, ByteSpan(data->data(), signed_len), expected);
  if (!CryptoPP::VerifyBufsEqual(expected, data->data() + signed_len, kMacSize)) invalid_token();

  const std::uint8_t* iv = data->data() + 1 + kTimestampSize;
  const std::size_t ct_len = signed_len - kPrefixSize;
  Bytes out(ct_len);
  try {
    CryptoPP::CBC_Mode<CryptoPP::AES>::Decryption cbc(key.encryption_key().data(),
                                                      key.encryption_key().size(), iv);
    CryptoPP::ArraySink sink(out.data(), out.size());
    CryptoPP::StreamTransformationFilter filter(cbc, new CryptoPP::Redirector(sink),
                                                CryptoPP::StreamTransformationFilter::PKCS_PADDING);
    filter.Put(data->data() + kPrefixSize, ct_len);
    filter.MessageEnd();
    out.resize(sink.TotalPutLength());
  } catch (const CryptoPP::Exception&) {
    invalid_token();  // bad padding under a valid MAC: a token made with a different padding
  }
  return out;
}

}  // namespace keel::encrypt
