// safetensors bytes through the decoder. A file is either rejected with a
// one-line keel::Error (exit code 2) or decoded into tensors that, encoded
// again and decoded, come back the same (names, order, dtypes, shapes, bytes,
// metadata).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "runtime/safetensors.hpp"

namespace {

bool same(const keel::TensorFile& a, const keel::TensorFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& [name_a, ta] = a.tensors[i];
    const auto& [name_b, tb] = b.tensors[i];
    if (name_a != name_b || ta.dtype() != tb.dtype() || ta.shape() != tb.shape() ||
        ta.nbytes() != tb.nbytes())
      return false;
    if (ta.nbytes() && std::memcmp(ta.data(), tb.data(), ta.nbytes()) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  keel::TensorFile file;
  try {
    file = keel::decode_safetensors(bytes, "fuzz.safetensors");
  } catch (const keel::Error& e) {
    keel::fuzz::require(e.code() == keel::ExitCode::usage,
                        "a bad safetensors file is a usage error (exit 2)");
    keel::fuzz::require_one_line(e.format());
    return 0;
  }
  std::size_t total = 0;
  for (const auto& entry : file.tensors) total += entry.second.nbytes();
  keel::fuzz::require(total <= size, "tensors are never larger than their file");
  const keel::TensorFile back = keel::decode_safetensors(keel::encode_safetensors(file), "re-encoded");
  keel::fuzz::require(same(file, back), "decode(encode(x)) == x");
  return 0;
}
