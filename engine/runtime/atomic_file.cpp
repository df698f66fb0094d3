#include "runtime/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "base/error.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

fs::path temporary_name(const fs::path& path) {
  std::random_device rd;
  auto tag = std::to_string(::getpid()) + "." + std::to_string(rd());
  return path.parent_path() / ("." + path.filename().string() + ".tmp." + tag);
}

void fsync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags);
  if (fd < 0) return;  // best effort: durability, not correctness, depends on it
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream& out)>& write) {
  const fs::path tmp = temporary_name(path);
  struct Cleanup {
    const fs::path& p;
    bool armed = true;
    ~Cleanup() {
      if (armed) {
        std::error_code ec;
        fs::remove(p, ec);
      }
    }
  } cleanup{tmp};

  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) throw runtime_error("cannot write '" + path.string() + "': write failed");
  }
  fsync_path(tmp, O_RDONLY);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw runtime_error("cannot write '" + path.string() + "': " + ec.message());
  cleanup.armed = false;
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace keel
