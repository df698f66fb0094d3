// NumPy broadcasting for the binary ops: the result shape (symbolic
// dimensions included) and a copy that expands a tensor to the result shape.
#pragma once

#include <cstdint>
#include <vector>

#include "keel/keel.hpp"

namespace keel::nn {

// Aligns right; each dimension pair must be equal (as values or as the same
// symbol) or one of them 1. `op` names the op in the error message.
Status broadcast_shapes(const char* op, const Shape& a, const Shape& b, Shape& out);

// The shape with leading 1s up to `rank`.
std::vector<std::int64_t> pad_left(const std::vector<std::int64_t>& dims, std::size_t rank);

// Writes `src` (dims `src_dims`, same rank as `dst_dims`, each 1 or equal)
// expanded to `dst_dims` into `dst`, C order.
void broadcast_copy(const float* src, const std::vector<std::int64_t>& src_dims,
                    const std::vector<std::int64_t>& dst_dims, float* dst);

}  // namespace keel::nn
