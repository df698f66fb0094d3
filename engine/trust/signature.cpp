#include "trust/signature.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "trust/base64.hpp"
#include "trust/text_file.hpp"

namespace keel::trust {

namespace {

constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr std::size_t kSignatureLineBytes = 2 + kKeyIdSize + kSignatureSize;  // 74
constexpr std::size_t kMaxSignatureFile =
    kUntrustedPrefix.size() + kMaxCommentBytes + kTrustedPrefix.size() + kMaxTrustedCommentBytes + 512;

void check_comment(const std::string& text, std::size_t max, const std::string& what) {
  if (text.find_first_of("\r\n") != std::string::npos) throw usage_error(what + " must be one line");
  if (text.size() > max) throw usage_error(what + " exceeds " + std::to_string(max) + " bytes");
}

}  // namespace

Signature parse_signature(std::string_view text, const std::string& source) {
  const std::string what = "minisign signature";
  const auto lines = split_lines(text);
  if (lines.size() < 4)
    throw usage_error("truncated " + what + ": " + std::to_string(lines.size()) + " of its 4 lines",
                      {source});
  if (lines.size() > 4)
    throw usage_error("malformed " + what + ": " + std::to_string(lines.size()) + " lines instead of 4",
                      {source});
  Signature sig;
  sig.untrusted_comment = after_prefix(lines[0], kUntrustedPrefix, source, what);
  const auto raw = base64_decode(lines[1]);
  if (!raw || raw->size() != kSignatureLineBytes)
    throw usage_error(
        "malformed " + what + ": line 2 is not base64 of " + std::to_string(kSignatureLineBytes) + " bytes",
        {source});
  if ((*raw)[0] == 'E' && (*raw)[1] == 'D')
    sig.algorithm = SignatureAlgorithm::prehashed;
  else if ((*raw)[0] == 'E' && (*raw)[1] == 'd')
    sig.algorithm = SignatureAlgorithm::legacy;
  else
    throw usage_error("malformed " + what + ": unknown signature algorithm (neither 'ED' nor 'Ed')",
                      {source});
  std::copy_n(raw->begin() + 2, kKeyIdSize, sig.key_id.begin());
  std::copy_n(raw->begin() + 2 + kKeyIdSize, kSignatureSize, sig.signature.begin());
  sig.trusted_comment = after_prefix(lines[2], kTrustedPrefix, source, what);
  const auto global = base64_decode(lines[3]);
  if (!global || global->size() != kSignatureSize)
    throw usage_error(
        "malformed " + what + ": line 4 is not base64 of " + std::to_string(kSignatureSize) + " bytes",
        {source});
  std::copy(global->begin(), global->end(), sig.global_signature.begin());
  return sig;
}

Signature read_signature_file(const std::filesystem::path& path) {
  return parse_signature(read_small_file(path, kMaxSignatureFile, "signature file"), path.string());
}

std::string format_signature(const Signature& sig) {
  check_comment(sig.untrusted_comment, kMaxCommentBytes, "the untrusted comment");
  check_comment(sig.trusted_comment, kMaxTrustedCommentBytes, "the trusted comment");
  std::array<std::uint8_t, kSignatureLineBytes> raw{};
  raw[0] = 'E';
  raw[1] = sig.algorithm == SignatureAlgorithm::prehashed ? 'D' : 'd';
  std::copy(sig.key_id.begin(), sig.key_id.end(), raw.begin() + 2);
  std::copy(sig.signature.begin(), sig.signature.end(), raw.begin() + 2 + kKeyIdSize);
  std::string out;
  out += kUntrustedPrefix;
  out += sig.untrusted_comment + "\n";
  out += base64_encode(raw.data(), raw.size()) + "\n";
  out += kTrustedPrefix;
  out += sig.trusted_comment + "\n";
  out += base64_encode(sig.global_signature.data(), sig.global_signature.size()) + "\n";
  return out;
}

std::filesystem::path signature_path_for(const std::filesystem::path& file) {
  std::filesystem::path p = file;
  p += ".minisig";
  return p;
}

}  // namespace keel::trust
