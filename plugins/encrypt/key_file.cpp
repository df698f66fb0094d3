#include "key_file.hpp"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "base64url.hpp"

namespace keel::encrypt {

namespace {

// A key file is 44 characters and a newline; anything much larger is not a
// key file, and is not read into memory.
constexpr std::streamsize kMaxKeyFileSize = 1024;

}  // namespace

CryptoPP::SecByteBlock load_key_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open key file '" + path + "'");
  CryptoPP::SecByteBlock text(kMaxKeyFileSize + 1);
  f.read(reinterpret_cast<char*>(text.data()), kMaxKeyFileSize + 1);
  std::size_t n = static_cast<std::size_t>(f.gcount());
  const std::string bad = "key file '" + path + "' must hold one line of url-safe base64 encoding 32 bytes";
  if (n > static_cast<std::size_t>(kMaxKeyFileSize)) throw std::runtime_error(bad);
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) --n;
  auto raw = base64url_decode(std::string_view(reinterpret_cast<const char*>(text.data()), n));
  if (!raw || raw->size() != kKeySize) {
    // An empty vector's data() may be null, which memset must not get.
    if (raw && !raw->empty()) std::memset(raw->data(), 0, raw->size());
    throw std::runtime_error(bad);
  }
  CryptoPP::SecByteBlock key(raw->data(), raw->size());
  std::memset(raw->data(), 0, raw->size());
  return key;
}

}  // namespace keel::encrypt
