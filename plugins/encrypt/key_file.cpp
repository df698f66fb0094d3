#include "key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "base64url.hpp"

namespace keel::encrypt {

namespace {

// A key file is 44 characters and a newline; anything much larger is not a
// key file, and is not read into memory.
constexpr std::size_t kMaxKeyFileSize = 1024;

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

std::string file_kind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISDIR(m)) return "a folder";
  return "a special file";
}

}  // namespace

CryptoPP::SecByteBlock load_key_file(const std::string& path) {
  // The checks run on the opened file, not the name, so the file checked is
  // the file read. O_NONBLOCK: opening a FIFO with no writer (or some
  // devices) would otherwise wait forever; nothing but a regular file is
  // read, and O_NOCTTY keeps a terminal from becoming ours.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    struct stat named {};
    if (err == ENXIO && ::stat(path.c_str(), &named) == 0 && !S_ISREG(named.st_mode))  // a socket
      throw std::runtime_error("key file '" + path + "' is " + file_kind(named.st_mode) +
                               ", not a regular file");
    throw std::runtime_error("cannot open key file '" + path + "': " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw std::runtime_error("cannot read key file '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error("key file '" + path + "' is " + file_kind(st.st_mode) + ", not a regular file");
  // A regular file never blocks, but reads are plain blocking reads again.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  if ((st.st_mode & 077) != 0)
    throw std::runtime_error("key file '" + path + "' is accessible by group or others (mode " +
                             octal_mode(st.st_mode) + "); protect it with: chmod 600 " + path);
  CryptoPP::SecByteBlock text(kMaxKeyFileSize + 1);
  std::size_t n = 0;
  while (n < text.size()) {
    const ssize_t got = ::read(fd.get(), text.data() + n, text.size() - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("cannot read key file '" + path + "': " + std::strerror(errno));
    if (got == 0) break;
    n += static_cast<std::size_t>(got);
  }
  const std::string bad = "key file '" + path + "' must hold one line of url-safe base64 encoding 32 bytes";
  if (n > kMaxKeyFileSize) throw std::runtime_error(bad);
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

CryptoPP::SecByteBlock new_key_file_text() {
  CryptoPP::SecByteBlock key(kKeySize);
  random_bytes(key.data(), key.size());
  std::string encoded = base64url_encode(ByteSpan(key.data(), key.size()));
  CryptoPP::SecByteBlock text(encoded.size() + 1);
  std::memcpy(text.data(), encoded.data(), encoded.size());
  text[encoded.size()] = '\n';
  // The std::string held the key too: wipe it before it is freed.
  std::memset(encoded.data(), 0, encoded.size());
  return text;
}

CryptoPP::SecByteBlock load_passphrase_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value)
    throw std::runtime_error("environment variable " + name + " is not set (it should hold the passphrase)");
  const std::size_t n = std::strlen(value);
  if (n == 0)
    throw std::runtime_error("environment variable " + name + " is empty (it should hold the passphrase)");
  return CryptoPP::SecByteBlock(reinterpret_cast<const CryptoPP::byte*>(value), n);
}

}  // namespace keel::encrypt
