#include "trust/verify.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>

#include "base/error.hpp"
#include "trust/digest.hpp"
#include "trust/ed25519.hpp"

namespace keel::trust {

namespace {

constexpr std::uint64_t kMaxLegacyFile = std::uint64_t{1} << 30;

// The message a legacy signature covers: the file's bytes.
std::vector<std::uint8_t> read_whole(int fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw usage_error(std::string("cannot read: ") + std::strerror(errno), {name});
  if (static_cast<std::uint64_t>(st.st_size) > kMaxLegacyFile)
    throw usage_error(
        "a legacy ('Ed') signature covers the whole file in memory, and this file exceeds 1 GiB", {name});
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[1 << 16];
  off_t at = 0;
  for (;;) {
    const ssize_t got = ::pread(fd, buf, sizeof buf, at);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw usage_error(std::string("cannot read: ") + std::strerror(errno), {name});
    if (got == 0) break;
    if (bytes.size() + static_cast<std::size_t>(got) > kMaxLegacyFile)
      throw usage_error(
          "a legacy ('Ed') signature covers the whole file in memory, and this file exceeds 1 GiB", {name});
    bytes.insert(bytes.end(), buf, buf + got);
    at += got;
  }
  return bytes;
}

std::vector<std::uint8_t> global_message(const Signature& s) {
  std::vector<std::uint8_t> m(s.signature.begin(), s.signature.end());
  m.insert(m.end(), s.trusted_comment.begin(), s.trusted_comment.end());
  return m;
}

}  // namespace

std::string VerifyResult::describe() const {
  const std::string id = key_id_hex(key_id);
  switch (status) {
    case VerifyStatus::good:
      return "good signature from key ID " + id;
    case VerifyStatus::untrusted_key:
      return "signed by key ID " + id + ", which is not a trusted key";
    case VerifyStatus::bad_signature:
      return "bad signature: the file or its signature was modified (key ID " + id + ")";
    case VerifyStatus::bad_trusted_comment:
      return "bad signature: the trusted comment or its signature was modified (key ID " + id + ")";
  }
  return "bad signature";
}

namespace {

// The check itself; `message` yields what the signature's algorithm signs
// (the hash or the whole file), asked for once and only when a trusted key
// has the signature's ID.
VerifyResult verify_message(const Signature& signature, const std::vector<PublicKey>& trusted,
                            const std::function<std::vector<std::uint8_t>()>& message_of) {
  VerifyResult result;
  result.key_id = signature.key_id;
  result.status = VerifyStatus::untrusted_key;
  std::vector<std::uint8_t> message;
  bool read = false;
  // Key IDs are not unique by construction: every key with the signature's
  // ID is tried, so a second key claiming a trusted key's ID cannot shadow it.
  for (const PublicKey& key : trusted) {
    if (key.id != signature.key_id) continue;
    if (!read) {
      message = message_of();
      read = true;
    }
    if (!ed25519_verify(key.key, message.data(), message.size(), signature.signature)) {
      result.status = VerifyStatus::bad_signature;
      continue;
    }
    const auto global = global_message(signature);
    if (!ed25519_verify(key.key, global.data(), global.size(), signature.global_signature)) {
      result.status = VerifyStatus::bad_trusted_comment;
      continue;
    }
    result.status = VerifyStatus::good;
    result.trusted_comment = signature.trusted_comment;
    return result;
  }
  return result;
}

}  // namespace

VerifyResult verify_file(int fd, const std::string& name, const Signature& signature,
                         const std::vector<PublicKey>& trusted) {
  return verify_message(signature, trusted, [&] {
    if (signature.algorithm == SignatureAlgorithm::legacy) return read_whole(fd, name);
    const Digest digest = hash_fd(fd, name);
    return std::vector<std::uint8_t>(digest.begin(), digest.end());
  });
}

VerifyResult verify_bytes(std::string_view bytes, const Signature& signature,
                          const std::vector<PublicKey>& trusted) {
  return verify_message(signature, trusted, [&] {
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (signature.algorithm == SignatureAlgorithm::legacy)
      return std::vector<std::uint8_t>(data, data + bytes.size());
    const Digest digest = hash_bytes(data, bytes.size());
    return std::vector<std::uint8_t>(digest.begin(), digest.end());
  });
}

void require_good(const VerifyResult& result, const std::string& name) {
  if (!result.good()) throw usage_error(result.describe(), {name});
}

Signature sign_file(int fd, const std::string& name, const SecretKey& key, std::string trusted_comment,
                    std::string untrusted_comment) {
  Signature sig;
  sig.algorithm = SignatureAlgorithm::prehashed;
  sig.key_id = key.id;
  sig.trusted_comment = std::move(trusted_comment);
  sig.untrusted_comment = std::move(untrusted_comment);
  const Digest digest = hash_fd(fd, name);
  sig.signature = ed25519_sign(key.bytes.data(), digest.data(), digest.size());
  const auto global = global_message(sig);
  sig.global_signature = ed25519_sign(key.bytes.data(), global.data(), global.size());
  // A signature that does not verify (a fault while signing) is never
  // written: check it against the public key, as a verifier will.
  const PublicKey pub = key.public_key();
  if (!ed25519_verify(pub.key, digest.data(), digest.size(), sig.signature) ||
      !ed25519_verify(pub.key, global.data(), global.size(), sig.global_signature))
    throw runtime_error("the signature just made does not verify", {name});
  return sig;
}

std::string default_trusted_comment(const std::filesystem::path& file) {
  return "timestamp:" + std::to_string(static_cast<long long>(std::time(nullptr))) +
         "\tfile:" + printable(file.filename().string(), 1000) + "\thashed";
}

}  // namespace keel::trust
