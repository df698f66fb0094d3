#include "trust/text_file.hpp"

#include <cryptopp/misc.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.hpp"

namespace keel::trust {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

std::string read_small_file(const std::filesystem::path& path, std::size_t max_bytes, const std::string& kind,
                            bool secret) {
  const std::string name = path.string();
  // The checks run on the opened file, so the file checked is the file read;
  // O_NONBLOCK keeps a FIFO without a writer from hanging the open.
  Fd fd(::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) throw usage_error("cannot open " + kind + ": " + std::strerror(errno), {name});
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw usage_error("cannot read " + kind + ": " + std::strerror(errno), {name});
  if (!S_ISREG(st.st_mode)) throw usage_error(kind + " is not a regular file", {name});
  if (secret && (st.st_mode & 077) != 0)
    throw usage_error(kind + " is accessible by group or others (mode " + octal_mode(st.st_mode) +
                          "); protect it with: chmod 600 " + name,
                      {name});
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  std::string text(max_bytes + 1, '\0');
  std::size_t n = 0;
  while (n < text.size()) {
    const ssize_t got = ::read(fd.get(), text.data() + n, text.size() - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int err = errno;
      wipe(text.data(), text.size());
      throw usage_error("cannot read " + kind + ": " + std::strerror(err), {name});
    }
    if (got == 0) break;
    n += static_cast<std::size_t>(got);
  }
  if (n > max_bytes) {
    wipe(text.data(), text.size());
    throw usage_error("not a " + kind + ": larger than " + std::to_string(max_bytes) + " bytes", {name});
  }
  // The bytes past n were never written: nothing to wipe there.
  text.resize(n);
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    const std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    at = next;
  }
  return lines;
}

std::string_view after_prefix(std::string_view line, std::string_view prefix, const std::string& source,
                              const std::string& what) {
  if (line.substr(0, prefix.size()) != prefix)
    throw usage_error("malformed " + what + ": expected a line starting with '" + std::string(prefix) + "'",
                      {source});
  return line.substr(prefix.size());
}

void wipe(void* p, std::size_t n) { CryptoPP::SecureWipeBuffer(static_cast<CryptoPP::byte*>(p), n); }

}  // namespace keel::trust
