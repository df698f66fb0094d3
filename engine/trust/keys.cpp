#include "trust/keys.hpp"

#include <algorithm>
#include <cstdio>

#include "base/error.hpp"
#include "trust/base64.hpp"
#include "trust/text_file.hpp"

namespace keel::trust {

namespace {

constexpr std::string_view kCommentPrefix = "untrusted comment: ";
constexpr std::size_t kMaxPublicKeyFile = 4096;
constexpr std::size_t kPublicKeyBytes = 2 + kKeyIdSize + kPublicKeySize;

}  // namespace

std::string key_id_hex(const KeyId& id) {
  std::string out;
  char digits[3];
  for (std::size_t i = id.size(); i-- > 0;) {
    std::snprintf(digits, sizeof digits, "%02X", static_cast<unsigned>(id[i]));
    out += digits;
  }
  return out;
}

PublicKey parse_public_key(std::string_view text, const std::string& source) {
  const std::string what = "minisign public key";
  const auto lines = split_lines(text);
  if (lines.size() != 2)
    throw usage_error(
        "not a " + what + ": expected 2 lines (a comment and the key), found " + std::to_string(lines.size()),
        {source});
  after_prefix(lines[0], kCommentPrefix, source, what);
  const auto raw = base64_decode(lines[1]);
  if (!raw || raw->size() != kPublicKeyBytes)
    throw usage_error(
        "malformed " + what + ": line 2 is not base64 of " + std::to_string(kPublicKeyBytes) + " bytes",
        {source});
  if ((*raw)[0] != 'E' || (*raw)[1] != 'd')
    throw usage_error("malformed " + what + ": not an Ed25519 key (algorithm is not 'Ed')", {source});
  PublicKey key;
  std::copy_n(raw->begin() + 2, kKeyIdSize, key.id.begin());
  std::copy_n(raw->begin() + 2 + kKeyIdSize, kPublicKeySize, key.key.begin());
  return key;
}

PublicKey read_public_key_file(const std::filesystem::path& path) {
  return parse_public_key(read_small_file(path, kMaxPublicKeyFile, "public key file"), path.string());
}

std::string public_key_base64(const PublicKey& key) {
  std::array<std::uint8_t, kPublicKeyBytes> raw{};
  raw[0] = 'E';
  raw[1] = 'd';
  std::copy(key.id.begin(), key.id.end(), raw.begin() + 2);
  std::copy(key.key.begin(), key.key.end(), raw.begin() + 2 + kKeyIdSize);
  return base64_encode(raw.data(), raw.size());
}

std::string format_public_key(const PublicKey& key) {
  return std::string(kCommentPrefix) + "keel public key " + key_id_hex(key.id) + "\n" +
         public_key_base64(key) + "\n";
}

}  // namespace keel::trust
