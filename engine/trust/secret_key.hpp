// Secret key files in minisign's format, read and written.
//
// The file is "untrusted comment: TEXT" and the base64 of 158 bytes: "Ed"
// (the algorithm), the key derivation ("Sc" for scrypt, or two zero bytes
// for a key stored in the clear, as `minisign -G -W` writes), "B2" (the
// checksum), a 32-byte scrypt salt, scrypt's opslimit and memlimit (64-bit
// little-endian, libsodium's parameters), then 104 bytes: the key ID, the
// 64-byte Ed25519 secret key (seed and public key) and a BLAKE2b-256
// checksum of "Ed", key ID and secret key. When the key is encrypted those
// 104 bytes are XORed with as many bytes of scrypt(passphrase, salt); the
// checksum is what tells a wrong passphrase. (minisign 0.11 leaves it zero
// in a key stored in the clear, which is accepted; keel always writes it.)
//
// Secret bytes live in wiped memory and never appear in a message.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "trust/keys.hpp"

namespace keel::trust {

struct SecretKey {
  KeyId id{};
  // libsodium's layout: the 32-byte seed, then the 32-byte public key.
  std::array<std::uint8_t, 64> bytes{};

  SecretKey() = default;
  ~SecretKey();  // wipes
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  PublicKey public_key() const;
};

// A new key pair from the kernel's generator, with a random key ID.
std::unique_ptr<SecretKey> generate_secret_key();

// Reads and, when it is encrypted, decrypts a secret key file. keel::Error
// (usage) naming the file when it is malformed, accessible by group or
// others, encrypted while `passphrase` is empty, or when the checksum does
// not match (a wrong passphrase or a damaged file).
std::unique_ptr<SecretKey> read_secret_key_file(const std::filesystem::path& path,
                                                std::string_view passphrase);

// Writes a new secret key file (mode 0600; an existing file is never
// replaced: keel::Error (usage) "already exists"). An empty `passphrase`
// stores the key in the clear; otherwise it is encrypted with scrypt at
// minisign's parameters (1 GiB, about a second or more).
void write_secret_key_file(const std::filesystem::path& path, const SecretKey& key,
                           std::string_view passphrase);

// The passphrase in environment variable `name`. keel::Error (usage) when it
// is unset or empty.
std::string_view passphrase_from_env(const std::string& name);

}  // namespace keel::trust
