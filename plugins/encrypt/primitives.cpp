#include "primitives.hpp"

#include <cryptopp/aes.h>
#include <cryptopp/gcm.h>
#include <cryptopp/osrng.h>
#include <cryptopp/scrypt.h>

#include <cstring>
#include <stdexcept>

namespace keel::encrypt {

namespace {

void check_key_and_nonce(ByteSpan key, ByteSpan nonce) {
  if (key.size() != kKeySize) throw std::invalid_argument("an AES-256 key must be 32 bytes");
  if (nonce.size() != kNonceSize) throw std::invalid_argument("an AES-GCM nonce must be 12 bytes");
}

}  // namespace

void aes256_gcm_seal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, std::uint8_t* out) {
  check_key_and_nonce(key, nonce);
  CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
  gcm.SetKeyWithIV(key.data(), key.size(), nonce.data(), nonce.size());
  gcm.EncryptAndAuthenticate(out, out + plaintext.size(), kTagSize, nonce.data(),
                             static_cast<int>(nonce.size()), aad.data(), aad.size(), plaintext.data(),
                             plaintext.size());
}

bool aes256_gcm_open(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::uint8_t* out) {
  check_key_and_nonce(key, nonce);
  if (sealed.size() < kTagSize) return false;
  const std::size_t n = sealed.size() - kTagSize;
  CryptoPP::GCM<CryptoPP::AES>::Decryption gcm;
  gcm.SetKeyWithIV(key.data(), key.size(), nonce.data(), nonce.size());
  const bool ok =
      gcm.DecryptAndVerify(out, sealed.data() + n, kTagSize, nonce.data(), static_cast<int>(nonce.size()),
                           aad.data(), aad.size(), sealed.data(), n);
  // Never hand out plaintext that failed authentication, even partially.
  if (!ok && n != 0) std::memset(out, 0, n);
  return ok;
}

CryptoPP::SecByteBlock scrypt(std::string_view passphrase, ByteSpan salt, unsigned log2_n, std::uint32_t r,
                              std::uint32_t p, std::size_t out_len) {
  if (log2_n < 1 || log2_n > 62) throw std::invalid_argument("scrypt log2(N) must be in 1..62");
  CryptoPP::SecByteBlock out(out_len);
  CryptoPP::Scrypt kdf;
  kdf.DeriveKey(out.data(), out.size(), reinterpret_cast<const CryptoPP::byte*>(passphrase.data()),
                passphrase.size(), salt.data(), salt.size(), CryptoPP::word64{1} << log2_n, r, p);
  return out;
}

void random_bytes(std::uint8_t* out, std::size_t n) {
  // OS_GenerateRandomBlock reads the kernel's generator directly; unlike a
  // pool object it has no state to share between threads.
  CryptoPP::OS_GenerateRandomBlock(false, out, n);
}

}  // namespace keel::encrypt
