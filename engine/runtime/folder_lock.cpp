#include "runtime/folder_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.hpp"

namespace keel {

namespace {

std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? std::size_t(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.find_first_not_of("0123456789") == std::string::npos && !pid.empty() ? pid : "";
}

}  // namespace

FolderLock::FolderLock(const std::filesystem::path& dir) : file_(dir / kFileName) {
  const std::string where = "output folder '" + printable(dir.string(), 200) + "'";
  // A holder removes the file as it releases the lock; whoever had opened
  // the old file meanwhile would lock a file nobody else sees, so a lock is
  // only held once the locked file is still the one under the name.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw runtime_error("cannot lock " + where + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string pid = holder_of(fd);
      ::close(fd);
      if (err == EWOULDBLOCK)
        throw runtime_error(where + " is in use by another keel run" +
                            (pid.empty() ? std::string() : " (process " + pid + ")") +
                            "; wait for it to finish or choose another --output-dir");
      throw runtime_error("cannot lock " + where + ": " + std::strerror(err));
    }
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(file_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
        const int err = errno;
        ::close(fd);
        throw runtime_error("cannot lock " + where + ": " + std::strerror(err));
      }
      fd_ = fd;
      return;
    }
    ::close(fd);  // the holder removed it meanwhile: take the new one
  }
  throw runtime_error("cannot lock " + where + ": its lock file keeps being replaced");
}

FolderLock::~FolderLock() {
  if (fd_ < 0) return;
  ::unlink(file_.c_str());  // while still holding the lock (see the constructor)
  ::close(fd_);
}

}  // namespace keel
