#include "runtime/read_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/error.hpp"
#include "base/input_check.hpp"

namespace keel {

namespace fs = std::filesystem;

std::string read_input_file(const fs::path& path, std::uintmax_t max_bytes, const std::string& kind) {
  const std::string source = path.string();
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw usage_error("cannot read: " + ec.message(), {source});
  if (size > max_bytes)
    throw usage_error("file of " + std::to_string(size) + " bytes exceeds the limit of " +
                          std::to_string(max_bytes) + " bytes for " + kind,
                      {source});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error(std::string("cannot open: ") + std::strerror(errno), {source});
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size)
    throw usage_error("cannot read: the file changed while being read", {source});
  // The bytes just read, not the file again: what is checked is what is used.
  if (const InputCheck* check = input_check()) check->check_bytes(bytes, path);
  return bytes;
}

}  // namespace keel
