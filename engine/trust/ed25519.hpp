// Ed25519 and the module's other primitives over plain bytes, so that
// Crypto++ stays inside this module's .cpp files and out of its headers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace keel::trust {

using Ed25519Public = std::array<std::uint8_t, 32>;
using Ed25519Signature = std::array<std::uint8_t, 64>;

// The public key of a 32-byte seed (the first half of libsodium's and
// minisign's 64-byte secret key).
Ed25519Public ed25519_public_key(const std::uint8_t* seed);

// Signs with the 32-byte seed.
Ed25519Signature ed25519_sign(const std::uint8_t* seed, const std::uint8_t* message, std::size_t size);

// True when `signature` is valid for `message` under `key`. Besides the
// curve equation, S must be below the group order (as libsodium requires),
// so a signature has one encoding and cannot be altered into another valid one.
bool ed25519_verify(const Ed25519Public& key, const std::uint8_t* message, std::size_t size,
                    const Ed25519Signature& signature);

// Bytes from the kernel's generator.
void random_bytes(std::uint8_t* out, std::size_t n);

}  // namespace keel::trust
