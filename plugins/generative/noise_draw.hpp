// What noise and noise_like share: their distribution attributes, the
// checks on them, and the draw itself. Element i of an output is drawn from
// the stream (seed, step) at index i (common/keel_rng.hpp), so row r holds
// the same values whatever the number of rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keel/keel.hpp"

namespace keel::generative {

// More elements than any output of these ops may hold (2^40 f32, 4 TiB):
// past it a size is a mistake, and products of dimensions could overflow.
inline constexpr std::int64_t kMaxNoiseElements = std::int64_t{1} << 40;

struct NoiseSpec {
  bool normal = true;
  double a = 0.0, b = 1.0;  // mean and std (normal), or low and high (uniform)
  Shape row;                // the per-row dimensions
};

NoiseSpec noise_spec(const Attrs& attrs);

// The attribute values make sense: finite numbers, std >= 0, low <= high,
// and at most kMaxNoiseElements elements for `rows` rows (a symbolic
// `rows` checks the row alone).
Status check_noise(const char* op, const NoiseSpec& spec, Dim rows);

// `count` values of the distribution into `out`, from the stream `key`.
void draw_noise(const NoiseSpec& spec, std::uint64_t key, float* out, std::int64_t count);

// The attributes both ops declare: shape, distribution, mean, std, low, high.
std::vector<AttrSpec> noise_attrs();

}  // namespace keel::generative
