// Helpers of the trust tests: hex, the minisign peer, and files opened as
// the module takes them (a descriptor).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "process.hpp"

namespace trusttest {

inline std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

template <typename Bytes>
std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out += digits[static_cast<std::uint8_t>(b) >> 4];
    out += digits[static_cast<std::uint8_t>(b) & 15];
  }
  return out;
}

constexpr const char* kMinisign = "/usr/bin/minisign";

// The peer must be there: scripts/setup installs it.
inline void require_minisign() {
  INFO("minisign is not installed (scripts/setup installs Debian's minisign, the tests' peer)");
  REQUIRE(std::filesystem::exists(kMinisign));
}

// `sh -c SCRIPT` (for minisign, which reads a passphrase on standard input).
inline keel::test::ProcessResult shell(const std::string& script) {
  return keel::test::run_process({"/bin/sh", "-c", script});
}

inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A file opened read-only, closed at the end of the scope.
class OpenFile {
 public:
  explicit OpenFile(const std::filesystem::path& p, int flags = O_RDONLY) : fd_(::open(p.c_str(), flags)) {
    REQUIRE(fd_ >= 0);
  }
  ~OpenFile() { ::close(fd_); }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace trusttest
