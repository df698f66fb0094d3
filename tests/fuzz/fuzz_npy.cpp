// .npy bytes through the reader. A file is either rejected with a one-line
// keel::Error (exit code 2) or read into a tensor whose data exactly fills
// the rest of the file; written back, it reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "runtime/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto path = keel::fuzz::scratch_file(bytes, ".npy");
  keel::Tensor t;
  try {
    t = keel::read_npy(path);
  } catch (const keel::Error& e) {
    keel::fuzz::require(e.code() == keel::ExitCode::usage, "a bad .npy is a usage error (exit 2)");
    keel::fuzz::require_one_line(e.format());
    return 0;
  }
  keel::fuzz::require(t.nbytes() <= size, "a tensor is never larger than its file");
  keel::fuzz::require(t.nbytes() == 0 || std::memcmp(t.data(), data + size - t.nbytes(), t.nbytes()) == 0,
                      "the data is the file's tail, byte for byte");
  if (t.nbytes() == 0) return 0;
  const auto copy = path.parent_path() / "copy.npy";
  keel::write_npy(copy, t);
  const keel::Tensor back = keel::read_npy(copy);
  keel::fuzz::require(back.dtype() == t.dtype() && back.shape() == t.shape() &&
                          std::memcmp(back.data(), t.data(), t.nbytes()) == 0,
                      "a tensor read, written and read again is unchanged");
  return 0;
}
