// ONNX model bytes through keel import's reader and converters (without
// the plugins: the graph text is the importer's output). A model is either
// refused with a one-line keel::Error (exit code 2) or becomes a graph file
// and parameters; no other exception, crash or unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "onnx/importer.hpp"
#include "onnx/onnx_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const keel::onnx::Model model = keel::onnx::parse_model(bytes, "fuzz.onnx");
    keel::onnx::Importer importer(model);
    importer.run();
    const std::string text = importer.yaml("fuzz");
    keel::fuzz::require(text.find("keel: 1\n") != std::string::npos, "an import is a graph file");
    std::size_t total = 0;
    for (const auto& entry : importer.params().tensors) total += entry.second.nbytes();
    // Parameters come from the file's tensors (or are per-channel zeros
    // beside them): never more than a few times the file.
    keel::fuzz::require(total <= 4 * size + 4096, "parameters are bounded by the model's size");
  } catch (const keel::Error& e) {
    keel::fuzz::require(e.code() == keel::ExitCode::usage, "a bad model is a usage error (exit 2)");
    keel::fuzz::require_one_line(e.format());
  }
  return 0;
}
