// The three Crypto++ primitives the container is built from, behind a small
// interface so they can be checked against published test vectors on their
// own: AES-256-GCM with a 96-bit nonce and a 128-bit tag, scrypt, and the
// system's random generator.
#pragma once

#include <cryptopp/secblock.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace keel::encrypt {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;

// Writes plaintext.size() bytes of ciphertext followed by the 16-byte tag to
// `out`, which must hold plaintext.size() + kTagSize bytes.
void aes256_gcm_seal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, std::uint8_t* out);

// Inverse of aes256_gcm_seal: `sealed` is ciphertext || tag. Writes
// sealed.size() - kTagSize bytes to `out` and returns false, leaving `out`
// zeroed, when the tag does not verify.
bool aes256_gcm_open(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::uint8_t* out);

// scrypt (RFC 7914) with N = 2^log2_n.
CryptoPP::SecByteBlock scrypt(std::string_view passphrase, ByteSpan salt, unsigned log2_n, std::uint32_t r,
                              std::uint32_t p, std::size_t out_len);

void random_bytes(std::uint8_t* out, std::size_t n);

}  // namespace keel::encrypt
