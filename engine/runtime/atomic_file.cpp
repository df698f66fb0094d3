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
#include "runtime/signals.hpp"

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
// `target` is where the bytes go (`path` with symbolic links resolved);
// messages name `path`, as the user wrote it.
void commit(const fs::path& tmp, const fs::path& target, const fs::path& path,
            const AtomicFileOptions& options, Cleanup& cleanup) {
  if (options.durable) fsync_path(tmp, O_RDONLY);
  std::error_code ec;
  if (options.no_clobber) {
    if (::link(tmp.c_str(), target.c_str()) != 0) {
      if (errno == EEXIST) throw usage_error("'" + path.string() + "' already exists");
      throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    }
    fs::remove(tmp, ec);  // the cleanup removes it too if this fails
  } else {
    fs::rename(tmp, target, ec);
    if (ec) throw runtime_error("cannot write '" + path.string() + "': " + ec.message());
    cleanup.armed = false;
  }
  if (!options.durable) return;
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

// Where the bytes for `path` really go. A symbolic link is followed, so the
// link stays and its target's contents are replaced (the temporary is made
// next to the target, since rename cannot cross file systems). Only a
// regular file is ever replaced: a device, FIFO or socket is refused rather
// than unlinked and replaced by a file holding the data (and, for
// decrypted output, the plaintext), or streamed into, which would give up
// the promise that a failed write leaves nothing behind.
fs::path resolve_target(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return path;  // a new file (or a missing folder, reported on write)
  fs::path target = path;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    target = fs::canonical(path, ec);
    if (ec)
      throw usage_error("output '" + path.string() + "' is a symbolic link to a missing file or folder (" +
                        ec.message() + ")");
    if (::stat(target.c_str(), &st) != 0)
      throw usage_error("cannot write '" + path.string() + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw usage_error("output '" + path.string() + "' is a folder");
  if (!S_ISREG(st.st_mode))
    throw usage_error("output '" + path.string() + "' is " + kind_of(st.st_mode) +
                      ", not a regular file; Keel writes outputs only to regular files (replaced whole, "
                      "never streamed), so it leaves it alone");
  return target;
}

// The permission bits a new temporary gets. A private file is 0600 whatever
// the umask, unless it replaces an existing file, whose bits the user chose
// and which are kept; other files get 0666 less the umask, as any new file.
mode_t temporary_mode(const fs::path& target, const AtomicFileOptions& options, bool& force) {
  force = false;
  if (options.secret) {
    force = true;
    return 0600;
  }
  if (options.private_file) {
    struct stat st {};
    force = true;
    if (::stat(target.c_str(), &st) == 0) return st.st_mode & 07777;
    return 0600;
  }
  return 0666;
}

// Creates the (new, empty) temporary; the caller registered its name first.
int create_temporary(const fs::path& tmp, const fs::path& path, const fs::path& target,
                     const AtomicFileOptions& options) {
  bool force = false;
  const mode_t mode = temporary_mode(target, options, force);
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, force ? 0600 : mode);
  if (fd < 0) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
  if (force && ::fchmod(fd, mode) != 0) {  // exact bits, whatever the umask
    const int err = errno;
    ::close(fd);
    throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(err));
  }
  return fd;
}

}  // namespace

void check_output_target(const fs::path& path) { resolve_target(path); }

namespace {

// The temporary a write goes to, beside the file it will replace: a fresh
// name (stale ones of killed runs removed first), removed by a signal, and
// removed on the way out unless commit() disarms its cleanup.
struct Pending {
  explicit Pending(const fs::path& path)
      : target(resolve_target(path)), tmp(fresh_temporary(target)), on_signal_remove(tmp), cleanup{tmp} {}
  static fs::path fresh_temporary(const fs::path& target) {
    remove_stale_temporaries(target);
    return temporary_name(target);
  }
  const fs::path target, tmp;
  const signals::TemporaryFile on_signal_remove;
  Cleanup cleanup;
};

}  // namespace

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream& out)>& write,
                           const AtomicFileOptions& options) {
  Pending pending(path);
  const fs::path& tmp = pending.tmp;
  ::close(create_temporary(tmp, path, pending.target, options));
  {
    std::ofstream out;
    if (options.secret) out.rdbuf()->pubsetbuf(nullptr, 0);  // before open: no buffer at all
    out.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    // The stream keeps no error code: errno right after the first failed
    // write is the OS's reason (a full disk, a file-size limit).
    errno = 0;
    write(out);
    if (out) out.flush();
    if (out) out.close();
    if (!out) {
      const int err = errno ? errno : EIO;
      throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(err));
    }
  }
  commit(tmp, pending.target, path, options, pending.cleanup);
}

void write_fd_atomically(const fs::path& path, const std::function<void(int fd)>& write,
                         const AtomicFileOptions& options) {
  Pending pending(path);
  const int fd = create_temporary(pending.tmp, path, pending.target, options);
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  write(fd);
  commit(pending.tmp, pending.target, path, options, pending.cleanup);
}

}  // namespace keel
