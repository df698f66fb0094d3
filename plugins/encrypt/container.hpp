// Keel's encrypted container, format v1 (docs/encryption.md has the layout
// byte by byte): an authenticated header followed by independent
// AES-256-GCM chunks whose nonces bind each chunk to its file, its position
// and whether it is the last, so truncation, reordering, splicing between
// files, appending and any bit flip are all detected.
#pragma once

#include <cstdint>
#include <string_view>

#include "primitives.hpp"

namespace keel::encrypt {

inline constexpr std::uint32_t kDefaultChunkSize = 1u << 20;
inline constexpr std::size_t kHeaderSize = 56;

struct ScryptParams {
  unsigned log2_n = 15;
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

// Exact messages of decrypt failures (each thrown as std::runtime_error).
inline constexpr const char* kAuthFailed = "authentication failed: wrong key or the file was modified";
inline constexpr const char* kBadMagic = "not a Keel encrypted file (bad magic)";
inline constexpr const char* kTruncatedHeader = "truncated header";
inline constexpr const char* kTruncatedChunk = "truncated chunk";
inline constexpr const char* kTrailingData = "data after the last chunk";

// Raw 32-byte key. Throws std::invalid_argument on a key of another size or
// a chunk size of 0.
Bytes encrypt_bytes(ByteSpan key, ByteSpan plaintext, std::uint32_t chunk_size = kDefaultChunkSize);
Bytes decrypt_bytes(ByteSpan key, ByteSpan container);

// The key is derived with scrypt from the passphrase and a fresh random salt;
// the parameters and salt are stored in the header.
Bytes encrypt_bytes_with_passphrase(std::string_view passphrase, ByteSpan plaintext,
                                    const ScryptParams& params = {},
                                    std::uint32_t chunk_size = kDefaultChunkSize);
Bytes decrypt_bytes_with_passphrase(std::string_view passphrase, ByteSpan container);

// Worker threads used for this many chunks (exposed so tests can check the
// threaded path is taken).
unsigned worker_count(std::uint64_t chunks);

}  // namespace keel::encrypt
