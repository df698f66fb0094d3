// Counter-based random numbers for stochastic ops (dropout, noise, ...).
//
// A draw is a pure function of (seed, step, element index): no generator
// state is carried between calls, so a result does not depend on how many
// threads split the work or in which order elements are visited, and
// backward can recompute exactly the draws forward made instead of storing
// them. The mixer is SplitMix64's finalizer; element i of a stream is the
// i-th output of a SplitMix64 generator whose state starts at the stream's
// key, reachable in O(1) because SplitMix64's state only ever adds a
// constant.
//
// Header-only for the same reason as keel_dnnl.hpp: each plugin module gets
// its own copy and nothing crosses the plugin boundary.
#pragma once

#include <cmath>
#include <cstdint>

namespace keel::rng {

inline constexpr std::uint64_t golden_gamma = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function: a bijection on 64-bit words whose outputs
// for consecutive inputs pass BigCrush.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key of the stream one op uses at one training step. The step is mixed
// before it meets the seed so that (seed, step) and (seed ^ 1, step ^ 1)
// cannot land on the same stream.
constexpr std::uint64_t stream_key(std::uint64_t seed, std::uint64_t step) {
  return mix64(seed ^ mix64(step + golden_gamma));
}

// 64 random bits for element `index` of the stream `key`.
constexpr std::uint64_t bits_at(std::uint64_t key, std::uint64_t index) {
  return mix64(key + (index + 1) * golden_gamma);
}

// Uniform in [0, 1) with 53 random bits: every double the result can take is
// equally likely.
constexpr double uniform_at(std::uint64_t key, std::uint64_t index) {
  return static_cast<double>(bits_at(key, index) >> 11) * 0x1.0p-53;
}

// The integer threshold t with uniform_at(...) < p exactly when
// (bits_at(...) >> 11) < t, so hot loops compare integers, not doubles.
constexpr std::uint64_t threshold_53(double p) {
  if (!(p > 0.0)) return 0;
  if (p >= 1.0) return std::uint64_t{1} << 53;
  const double scaled = p * 0x1.0p53;  // exact: a power-of-two scaling
  const auto t = static_cast<std::uint64_t>(scaled);
  return static_cast<double>(t) < scaled ? t + 1 : t;  // ceil: k < x <=> k < ceil(x)
}

// Standard normal for element `index` of the stream `key`: the Box-Muller
// transform of the stream's uniforms 2 * index and 2 * index + 1, so a
// normal stream uses two draws per element (only the cosine half is kept,
// which keeps element i a function of i alone). 1 - u lies in (0, 1], so
// the logarithm is finite: the largest magnitude is sqrt(-2 ln 2^-53),
// about 8.57.
inline double normal_at(std::uint64_t key, std::uint64_t index) {
  constexpr double two_pi = 6.283185307179586476925286766559;
  const double u1 = 1.0 - uniform_at(key, 2 * index);
  const double u2 = uniform_at(key, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
}

}  // namespace keel::rng
