// Detached signatures in minisign's format (FILE.minisig), four lines:
//
//   untrusted comment: TEXT          free text, covered by no signature
//   BASE64(alg, key ID, signature)   alg "ED": Ed25519 over BLAKE2b-512 of
//                                    the file; "Ed" (legacy): over the file
//   trusted comment: TEXT            covered by the global signature
//   BASE64(global signature)         Ed25519 over signature || trusted text
//
// keel signs with "ED" only (a file is hashed as a stream, never held in
// memory whole) and verifies both.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "trust/keys.hpp"

namespace keel::trust {

enum class SignatureAlgorithm {
  legacy,     // "Ed": the signature is over the file's bytes
  prehashed,  // "ED": the signature is over BLAKE2b-512 of the file's bytes
};

struct Signature {
  SignatureAlgorithm algorithm = SignatureAlgorithm::prehashed;
  KeyId key_id{};
  std::array<std::uint8_t, kSignatureSize> signature{};
  std::string untrusted_comment;  // without "untrusted comment: "
  std::string trusted_comment;    // without "trusted comment: "
  std::array<std::uint8_t, kSignatureSize> global_signature{};
};

// Comments are one line each and bounded (minisign's own limits).
constexpr std::size_t kMaxCommentBytes = 1024;
constexpr std::size_t kMaxTrustedCommentBytes = 8192;

// The text of a signature file. keel::Error (usage) naming `source` when it
// is not exactly the four lines above (a truncated file says so).
Signature parse_signature(std::string_view text, const std::string& source);

// The same, read from a file.
Signature read_signature_file(const std::filesystem::path& path);

// The file text. keel::Error (usage) when a comment holds a line break or
// exceeds its bound.
std::string format_signature(const Signature& signature);

// minisign's default signature file for `file`: FILE.minisig.
std::filesystem::path signature_path_for(const std::filesystem::path& file);

}  // namespace keel::trust
