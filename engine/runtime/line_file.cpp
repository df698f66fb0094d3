#include "runtime/line_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.hpp"

namespace keel {

LineFile::LineFile(const std::filesystem::path& path, bool append) : path_(path) {
  // O_NONBLOCK: a FIFO put in the file's place must not block the open (a
  // FIFO without a reader fails at once); only a regular file is written.
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
  if (fd_ < 0)
    throw runtime_error("cannot write '" + printable(path.string(), 200) + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw usage_error("'" + printable(path.string(), 200) +
                      "' is not a regular file; Keel appends its logs only to regular files");
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  // Emptied only now, once it is known to be a regular file.
  if (!append && ::ftruncate(fd_, 0) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw runtime_error("cannot write '" + printable(path.string(), 200) + "': " + std::strerror(err));
  }
}

LineFile::~LineFile() {
  if (fd_ >= 0) ::close(fd_);
}

LineFile::LineFile(LineFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

LineFile& LineFile::operator=(LineFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void LineFile::write_line(const std::string& line) {
  const std::string whole = line + "\n";
  ssize_t n;
  do n = ::write(fd_, whole.data(), whole.size());
  while (n < 0 && errno == EINTR);
  if (n == ssize_t(whole.size())) return;
  // A short write leaves part of a line: cut it off again, so the file still
  // ends with a whole line, then report.
  const int err = n < 0 ? errno : ENOSPC;
  if (n > 0) {
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end >= n && ::ftruncate(fd_, end - n) != 0) {
      // nothing more to do: the message below still names the failure
    }
  }
  throw runtime_error("cannot write '" + printable(path_.string(), 200) + "': " + std::strerror(err));
}

}  // namespace keel
