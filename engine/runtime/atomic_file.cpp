#include "runtime/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "base/error.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

std::string temporary_prefix(const fs::path& path) { return "." + path.filename().string() + ".tmp."; }

fs::path temporary_name(const fs::path& path) {
  std::random_device rd;
  auto tag = std::to_string(::getpid()) + "." + std::to_string(rd());
  return path.parent_path() / (temporary_prefix(path) + tag);
}

// A run killed while writing (SIGKILL, power loss) leaves its temporary
// behind, never the final name. The next write of the same file removes
// such leftovers whose writing process no longer exists; a live writer's
// temporary (another run writing the same file) is left alone.
void remove_stale_temporaries(const fs::path& path) {
  const std::string prefix = temporary_prefix(path);
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const std::size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || rest.find_first_not_of("0123456789") != dot) continue;
    const long pid = std::strtol(rest.substr(0, dot).c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

void fsync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags);
  if (fd < 0) return;  // best effort: durability, not correctness, depends on it
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

namespace {

struct Cleanup {
  const fs::path& p;
  bool armed = true;
  ~Cleanup() {
    if (armed) {
      std::error_code ec;
      fs::remove(p, ec);
    }
  }
};

// Flushes the finished temporary and puts it in place: renamed over `path`,
// or hard-linked to it (no_clobber), then the folder is flushed too.
void commit(const fs::path& tmp, const fs::path& path, const AtomicFileOptions& options, Cleanup& cleanup) {
  fsync_path(tmp, O_RDONLY);
  std::error_code ec;
  if (options.no_clobber) {
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) throw usage_error("'" + path.string() + "' already exists");
      throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    }
    fs::remove(tmp, ec);  // the cleanup removes it too if this fails
  } else {
    fs::rename(tmp, path, ec);
    if (ec) throw runtime_error("cannot write '" + path.string() + "': " + ec.message());
    cleanup.armed = false;
  }
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream& out)>& write,
                           const AtomicFileOptions& options) {
  remove_stale_temporaries(path);
  const fs::path tmp = temporary_name(path);
  Cleanup cleanup{tmp};
  if (options.secret) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    const int rc = ::fchmod(fd, 0600);  // whatever the umask
    ::close(fd);
    if (rc != 0) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
  }
  {
    std::ofstream out;
    if (options.secret) out.rdbuf()->pubsetbuf(nullptr, 0);  // before open: no buffer at all
    out.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) throw runtime_error("cannot write '" + path.string() + "': write failed");
  }
  commit(tmp, path, options, cleanup);
}

void write_fd_atomically(const fs::path& path, const std::function<void(int fd)>& write,
                         const AtomicFileOptions& options) {
  remove_stale_temporaries(path);
  const fs::path tmp = temporary_name(path);
  Cleanup cleanup{tmp};
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.secret ? 0600 : 0666);
  if (fd < 0) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  if (options.secret && ::fchmod(fd, 0600) != 0)
    throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
  write(fd);
  commit(tmp, path, options, cleanup);
}

}  // namespace keel
