// File codecs: named formats a plugin offers for whole files, beside its
// ops. A codec seals a byte stream into its format and opens it back, and
// writes new key files. The runner uses codecs by name for `keel keygen`,
// `keel encrypt` / `keel decrypt` and encrypted checkpoints, so the code that
// knows a cipher stays inside its plugin (docs/abi.md, docs/encryption.md).
//
//   static void register_codecs(keel::CodecRegistrar& r) {
//     r.add("mycodec", "what it is", [] { return std::unique_ptr<keel::Codec>(new MyCodec); });
//   }
//   KEEL_PLUGIN_WITH_CODECS("myplugin", "0.1.0", register_ops, register_codecs)
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <span>
#include <string>

#include "keel/status.hpp"

namespace keel {

// Where a key comes from; exactly one field is set. Key material itself
// never crosses the plugin boundary: the codec reads the key file or the
// environment variable and keeps the secret in its own wiped memory, so the
// runner never holds, logs or prints it.
struct KeySource {
  std::string key_file;        // path of a key file
  std::string passphrase_env;  // name of an environment variable holding a passphrase

  bool empty() const { return key_file.empty() && passphrase_env.empty(); }
};

struct CodecOptions {
  KeySource key;
  // open: reject data older than this many seconds, for codecs that carry a
  // timestamp (Fernet); negative: no limit.
  std::int64_t ttl_seconds = -1;
};

class Codec {
 public:
  virtual ~Codec() = default;

  // Whether a file starting with these bytes (its first 64 bytes, or all of
  // a shorter file) is in this codec's format.
  virtual bool recognizes(std::span<const std::uint8_t> head) const = 0;

  // Fails when the key source cannot be used (missing or unprotected key
  // file, unset variable), without reading any data: callers check before
  // long work whose result would otherwise be lost.
  virtual Status check_key(const KeySource& key) const = 0;

  // Reads `in` to its end and writes the sealed form to `out`. `in` may be
  // asked for its size by seeking. On failure `out` holds garbage: the
  // caller writes to a temporary and discards it.
  virtual Status seal(std::istream& in, std::ostream& out, const CodecOptions& options) = 0;

  // Authenticates and decrypts; on any failure nothing written to `out` may
  // be used (the caller discards it).
  virtual Status open(std::istream& in, std::ostream& out, const CodecOptions& options) = 0;

  // Writes the text of a new random key file.
  virtual Status keygen(std::ostream& out) = 0;

  // Optional fast path for regular files, which a codec may map into memory
  // and process in parallel, input and output included. `in_fd` is open for
  // reading; `out_fd` is an empty file open for reading and writing (a
  // temporary the runner removes on failure). Used only when
  // files_supported() is true; otherwise the stream functions are.
  virtual bool files_supported() const { return false; }
  virtual Status seal_files(int /*in_fd*/, int /*out_fd*/, const CodecOptions& /*options*/) {
    return Status::Error("this codec has no file path");
  }
  virtual Status open_files(int /*in_fd*/, int /*out_fd*/, const CodecOptions& /*options*/) {
    return Status::Error("this codec has no file path");
  }
};

// A codec's failure message starts with this when the output could not be
// written (disk full, I/O error): the runner reports it as a failure while
// running (exit 1), not as bad input (exit 2).
inline constexpr const char* kCodecWriteFailure = "cannot write the output";

using CodecFactory = std::unique_ptr<Codec> (*)();

class __attribute__((visibility("default"))) CodecRegistrar {
 public:
  virtual void add(std::string name, std::string doc, CodecFactory factory) = 0;

 protected:
  ~CodecRegistrar() = default;
};

}  // namespace keel
