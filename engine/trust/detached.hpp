// Signing a file on disk: its detached signature FILE.minisig, written
// atomically beside it. Used by `keel sign` and by training, which signs each
// checkpoint it writes (train.checkpoint.sign).
#pragma once

#include <filesystem>
#include <string>

#include "trust/secret_key.hpp"
#include "trust/signature.hpp"

namespace keel::trust {

// A regular file opened read-only once, closed at the end of its scope: what
// is hashed (to sign or verify it) is what was opened. keel::Error (usage)
// naming the file when it cannot be opened or is not a regular file.
class RegularFile {
 public:
  explicit RegularFile(const std::filesystem::path& path);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int fd_ = -1;
};

// Signs the regular file `file` (opened once: what is hashed is what was
// opened) with `key`, writes FILE.minisig atomically and returns the
// signature. keel::Error (usage) naming the file when it is not a readable
// regular file; (runtime) when the signature cannot be written.
Signature write_detached_signature(const std::filesystem::path& file, const SecretKey& key,
                                   std::string trusted_comment,
                                   std::string untrusted_comment = "signature from keel secret key");

}  // namespace keel::trust
