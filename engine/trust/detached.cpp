#include "trust/detached.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.hpp"
#include "runtime/atomic_file.hpp"
#include "trust/verify.hpp"

namespace keel::trust {

RegularFile::RegularFile(const std::filesystem::path& path) : name_(path.string()) {
  fd_ = ::open(name_.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd_ < 0) throw usage_error(std::string("cannot open: ") + std::strerror(errno), {name_});
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw usage_error("not a regular file", {name_});
  }
}

RegularFile::~RegularFile() { ::close(fd_); }

Signature write_detached_signature(const std::filesystem::path& file, const SecretKey& key,
                                   std::string trusted_comment, std::string untrusted_comment) {
  const RegularFile in(file);
  const std::filesystem::path out = signature_path_for(file);
  Signature sig =
      sign_file(in.fd(), file.string(), key, std::move(trusted_comment), std::move(untrusted_comment));
  const std::string text = format_signature(sig);
  write_file_atomically(out, [&](std::ostream& s) { s << text; });
  return sig;
}

}  // namespace keel::trust
