// The common request, {"inputs": {NAME: nested arrays of numbers}} with f32
// inputs, read straight into tensors: no document tree, one number at a
// time. Anything else (another dtype, an escaped name, a token outside
// strict JSON, a ragged array) is left to the general reader, which also
// words every error, so the fast path never decides what is refused.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "graph/validate.hpp"
#include "runtime/tensor.hpp"

namespace keel::serve {

// The graph's inputs in declaration order, or nullopt when the body is not
// in the form above (then inputs_from_json's general path decides).
std::optional<std::vector<Tensor>> fast_json_inputs(std::string_view body, const ValidatedGraph& graph);

}  // namespace keel::serve
