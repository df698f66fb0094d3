#include "trust/digest.hpp"

#include <cryptopp/blake2.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.hpp"

namespace keel::trust {

namespace {

// 64 KiB: as fast as larger reads from the page cache, and small enough
// that a fresh process does not pay for faulting in a large new buffer on
// each file (measured in bench/README.md).
constexpr std::size_t kChunk = 1 << 16;

}  // namespace

Digest hash_fd(int fd, const std::string& name) {
  CryptoPP::BLAKE2b h(false, 64);
  std::vector<std::uint8_t> buf(kChunk);
  off_t at = 0;
  for (;;) {
    const ssize_t got = ::pread(fd, buf.data(), buf.size(), at);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw usage_error(std::string("cannot read: ") + std::strerror(errno), {name});
    if (got == 0) break;
    h.Update(buf.data(), static_cast<std::size_t>(got));
    at += got;
  }
  Digest out{};
  h.Final(out.data());
  return out;
}

Digest hash_bytes(const std::uint8_t* data, std::size_t size) {
  CryptoPP::BLAKE2b h(false, 64);
  h.Update(data, size);
  Digest out{};
  h.Final(out.data());
  return out;
}

}  // namespace keel::trust
