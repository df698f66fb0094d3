// The engine's counter-based generator: every random number is a pure
// function of (seed, stream name or number, index), so results never depend
// on thread count, node order or how many other numbers were drawn.
#pragma once

#include <cstdint>
#include <string_view>

namespace keel {

// SplitMix64's finalizer: a bijective mixer with full avalanche.
std::uint64_t mix64(std::uint64_t z);

// 64-bit key of a named stream: FNV-1a of the name, mixed with the seed.
std::uint64_t stream_key(std::uint64_t seed, std::string_view name);

// The i-th uniform double in [0, 1) of the stream `key` (53 random bits).
double uniform_at(std::uint64_t key, std::uint64_t i);

// The i-th raw 64-bit value of the stream `key`.
std::uint64_t bits_at(std::uint64_t key, std::uint64_t i);

}  // namespace keel
