// Parameter initialization from a counter-based generator keyed by
// (seed, parameter name): element i of a parameter depends only on the seed,
// the name and i, so initial values never depend on node order, thread
// count, or which other parameters exist.
#pragma once

#include <cstdint>
#include <string_view>

#include "keel/schema.hpp"
#include "runtime/tensor.hpp"

namespace keel {

// 64-bit key of a named stream: FNV-1a of the name, mixed with the seed.
std::uint64_t stream_key(std::uint64_t seed, std::string_view name);

// The i-th uniform double in [0, 1) of the stream `key` (53 random bits).
double uniform_at(std::uint64_t key, std::uint64_t i);

// Fills an f32 tensor according to `init`; fan-in/out as in PyTorch.
void initialize(Tensor& tensor, Init init, std::uint64_t seed, std::string_view name);

}  // namespace keel
