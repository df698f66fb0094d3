#include "base/random.hpp"

namespace keel {

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t stream_key(std::uint64_t seed, std::string_view name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h ^ mix64(seed + 0x9e3779b97f4a7c15ULL));
}

std::uint64_t bits_at(std::uint64_t key, std::uint64_t i) {
  return mix64(key + (i + 1) * 0x9e3779b97f4a7c15ULL);
}

double uniform_at(std::uint64_t key, std::uint64_t i) { return double(bits_at(key, i) >> 11) * 0x1.0p-53; }

}  // namespace keel
