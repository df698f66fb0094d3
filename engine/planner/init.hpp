// Parameter initialization from a counter-based generator keyed by
// (seed, parameter name): element i of a parameter depends only on the seed,
// the name and i, so initial values never depend on node order, thread
// count, or which other parameters exist.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/random.hpp"
#include "keel/schema.hpp"
#include "runtime/tensor.hpp"

namespace keel {

// Fills an f32 tensor according to `init`; fan-in/out as in PyTorch.
void initialize(Tensor& tensor, Init init, std::uint64_t seed, std::string_view name);

}  // namespace keel
