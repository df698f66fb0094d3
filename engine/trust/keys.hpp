// Keys in minisign's formats (https://jedisct1.github.io/minisign/), so that
// keys made by `minisign -G` work with keel and keel's with minisign.
//
// A public key file is two lines: "untrusted comment: TEXT" and the base64
// of "Ed" (the algorithm), the 8-byte key ID and the 32-byte Ed25519 public
// key. The key ID lets a verifier pick the right key among several and name
// it in messages; it is random, not derived from the key, so it is never
// taken as proof of anything: only the signature check is.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace keel::trust {

constexpr std::size_t kKeyIdSize = 8;
constexpr std::size_t kPublicKeySize = 32;
constexpr std::size_t kSignatureSize = 64;

using KeyId = std::array<std::uint8_t, kKeyIdSize>;

// A key ID as minisign prints it: the 8 bytes read as a little-endian
// number, in 16 upper-case hex digits ("9C0D3955021A264F").
std::string key_id_hex(const KeyId& id);

struct PublicKey {
  KeyId id{};
  std::array<std::uint8_t, kPublicKeySize> key{};
};

// The text of a public key file. keel::Error (usage) naming `source` when it
// is not one (exactly two lines, the comment prefix, base64 of 42 bytes, "Ed").
PublicKey parse_public_key(std::string_view text, const std::string& source);

// The same, read from a file (at most a few KiB are read).
PublicKey read_public_key_file(const std::filesystem::path& path);

// The file text: "untrusted comment: keel public key ID" and the key line.
std::string format_public_key(const PublicKey& key);

// The key line alone (what `minisign -P` takes).
std::string public_key_base64(const PublicKey& key);

}  // namespace keel::trust
