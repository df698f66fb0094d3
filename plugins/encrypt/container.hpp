// Keel's encrypted container, format v1 (docs/encryption.md has the layout
// byte by byte): an authenticated header followed by independent
// AES-256-GCM chunks whose nonces bind each chunk to its file, its position
// and whether it is the last, so truncation, reordering, splicing between
// files, appending and any bit flip are all detected.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
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

// The same, writing the container (container_size(plaintext.size()) bytes)
// straight into `out`: the encrypt op's path, without a copy.
void encrypt_into(ByteSpan key, ByteSpan plaintext, std::uint32_t chunk_size, std::uint8_t* out);
// Decrypts into `out` when the container holds exactly out_size bytes, and
// writes nothing otherwise; returns the plaintext length the header states.
// Throws as decrypt_bytes.
std::uint64_t decrypt_into(ByteSpan key, ByteSpan container, std::uint8_t* out, std::uint64_t out_size);

// A container key: a raw 32-byte key, or a passphrase the key is derived
// from with scrypt (fresh salt per file, parameters in the header).
struct ContainerKey {
  enum class Kind { raw, passphrase };
  Kind kind = Kind::raw;
  CryptoPP::SecByteBlock secret;
};

// Streaming versions, for files: `in` holds exactly `length` bytes (the
// plaintext, or the container). They read, process on all workers and
// write a batch of chunks at a time, so memory stays bounded whatever the
// size. decrypt_stream writes each batch only after it authenticated, but a
// later batch can still fail: the caller must discard `out` on an
// exception (the runner writes to a temporary file and removes it).
void encrypt_stream(const ContainerKey& key, std::istream& in, std::uint64_t length, std::ostream& out,
                    const ScryptParams& params = {}, std::uint32_t chunk_size = kDefaultChunkSize);
void decrypt_stream(const ContainerKey& key, std::istream& in, std::uint64_t length, std::ostream& out);

// File versions, for regular files: the input is mapped into memory and
// every worker reads, seals or opens, and writes (pwrite) its own chunks,
// so I/O runs in parallel too. `out_fd` must be an empty file open for
// writing. Failures throw as above; the caller discards the output file.
void encrypt_fd(const ContainerKey& key, int in_fd, int out_fd, const ScryptParams& params = {},
                std::uint32_t chunk_size = kDefaultChunkSize);
void decrypt_fd(const ContainerKey& key, int in_fd, int out_fd);

// Worker threads used for this many chunks (exposed so tests can check the
// threaded path is taken): one per core, at most 64, at most one per chunk,
// and at most the limit set below.
unsigned worker_count(std::uint64_t chunks);
// Limits worker threads process-wide (0: one per core); for benchmarks.
void set_max_threads(unsigned n);

}  // namespace keel::encrypt
