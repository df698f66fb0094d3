// Signing and verifying a file given as an open descriptor. The policy that
// decides which keys are trusted and which files must be signed is the
// caller's; this says only whether a signature is good under given keys.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "trust/keys.hpp"
#include "trust/secret_key.hpp"
#include "trust/signature.hpp"

namespace keel::trust {

enum class VerifyStatus {
  good,
  untrusted_key,        // no trusted key has the signature's key ID
  bad_signature,        // the file (or the signature) was changed
  bad_trusted_comment,  // the trusted comment (or the global signature) was changed
};

struct VerifyResult {
  VerifyStatus status = VerifyStatus::bad_signature;
  KeyId key_id{};               // the signature's
  std::string trusted_comment;  // meaningful only when good
  bool good() const { return status == VerifyStatus::good; }
  // One line saying what was found ("signed by key ID X, which is not a
  // trusted key"); never key bytes.
  std::string describe() const;
};

// Whether `signature` is a good signature of the whole of `fd` (read from
// offset 0 with pread; the offset is left alone) by one of `trusted`, and of
// its trusted comment. keel::Error (usage) naming `name` only when the file
// cannot be read; a legacy ("Ed") signature needs the file in memory and is
// refused for files over 1 GiB.
VerifyResult verify_file(int fd, const std::string& name, const Signature& signature,
                         const std::vector<PublicKey>& trusted);

// The same for a file already in memory, whole.
VerifyResult verify_bytes(std::string_view bytes, const Signature& signature,
                          const std::vector<PublicKey>& trusted);

// keel::Error (usage) naming `name`, with describe()'s line, unless good.
void require_good(const VerifyResult& result, const std::string& name);

// An "ED" signature of the whole of `fd` by `key`, with the global
// signature over the trusted comment. The result is checked against the
// key's public half before it is returned.
Signature sign_file(int fd, const std::string& name, const SecretKey& key, std::string trusted_comment,
                    std::string untrusted_comment);

// minisign's default trusted comment: "timestamp:SECONDS\tfile:NAME\thashed".
std::string default_trusted_comment(const std::filesystem::path& file);

}  // namespace keel::trust
