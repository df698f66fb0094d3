#include "trust/ed25519.hpp"

#include <cryptopp/osrng.h>
#include <cryptopp/xed25519.h>

#include <algorithm>

namespace keel::trust {

namespace {

// The order of the Ed25519 group, little-endian: 2^252 + 27742317777372353535851937790883648493.
constexpr std::array<std::uint8_t, 32> kGroupOrder = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// S, the signature's second half read as a little-endian number, is < L.
bool canonical_s(const Ed25519Signature& signature) {
  for (int i = 31; i >= 0; --i) {
    const std::uint8_t s = signature[32 + static_cast<std::size_t>(i)];
    if (s != kGroupOrder[static_cast<std::size_t>(i)]) return s < kGroupOrder[static_cast<std::size_t>(i)];
  }
  return false;  // S == L
}

}  // namespace

Ed25519Public ed25519_public_key(const std::uint8_t* seed) {
  const CryptoPP::ed25519::Signer signer(seed);
  const auto& key = static_cast<const CryptoPP::ed25519PrivateKey&>(signer.GetPrivateKey());
  Ed25519Public out{};
  std::copy_n(key.GetPublicKeyBytePtr(), out.size(), out.begin());
  return out;
}

Ed25519Signature ed25519_sign(const std::uint8_t* seed, const std::uint8_t* message, std::size_t size) {
  const CryptoPP::ed25519::Signer signer(seed);
  Ed25519Signature out{};
  // Ed25519 is deterministic: the generator is never used.
  signer.SignMessage(CryptoPP::NullRNG(), message, size, out.data());
  return out;
}

bool ed25519_verify(const Ed25519Public& key, const std::uint8_t* message, std::size_t size,
                    const Ed25519Signature& signature) {
  if (!canonical_s(signature)) return false;
  const CryptoPP::ed25519::Verifier verifier(key.data());
  return verifier.VerifyMessage(message, size, signature.data(), signature.size());
}

void random_bytes(std::uint8_t* out, std::size_t n) { CryptoPP::OS_GenerateRandomBlock(false, out, n); }

}  // namespace keel::trust
