// .npy bytes through the reader. A file is either rejected with a one-line
// keel::Error (exit code 2) or read into a tensor whose data exactly fills
// the rest of the file. (Writing is not fuzzed here: its fsync would make
// each run take milliseconds; tests/runtime checks the writer.)
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
  return 0;
}
