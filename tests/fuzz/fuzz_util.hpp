// Shared by the fuzz targets: a per-process scratch file for readers that
// take a path, and the one-line check every error message must pass.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace keel::fuzz {

// Writes `bytes` to a file that belongs to this process (removed at exit) and
// returns its path. Readers that only take paths see exactly the fuzz input.
inline std::filesystem::path scratch_file(std::string_view bytes, const char* extension) {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("keel-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static const std::string keep = d.string();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return d;
  }();
  auto path = dir / (std::string("input") + extension);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Error messages are printed as one line (`keel: error: ...`); a newline or
// any other control character (which could drive the terminal) in one breaks
// that contract, so the targets treat it as a finding. So is a message of
// more than 4 KiB: user text in messages is quoted in short excerpts.
inline void require_one_line(const std::string& message) {
  bool bad = message.empty() || message.size() > 4096;
  for (char c : message) bad = bad || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  if (bad) {
    std::fprintf(stderr, "error message is empty, too long or not one printable line: [%s]\n",
                 message.c_str());
    std::abort();
  }
}

inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
  }
}

}  // namespace keel::fuzz
