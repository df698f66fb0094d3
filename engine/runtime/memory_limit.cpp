#include "runtime/memory_limit.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace keel {

namespace {
constexpr std::uint64_t kHardCap = std::uint64_t{1} << 40;

std::uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return kHardCap;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}
}  // namespace

std::uint64_t parse_byte_size(const std::string& text) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (__builtin_mul_overflow(value, 10u, &value) ||
        __builtin_add_overflow(value, static_cast<unsigned>(text[i] - '0'), &value))
      return 0;
  }
  if (i == 0) return 0;
  int shift = 0;
  if (i < text.size()) {
    switch (text[i]) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      default: return 0;
    }
    ++i;
    if (i < text.size() && (text[i] == 'B' || text[i] == 'b')) ++i;
  }
  if (i != text.size()) return 0;
  if (shift && value > (~std::uint64_t{0} >> shift)) return 0;
  return value << shift;
}

std::uint64_t max_tensor_bytes() {
  static const std::uint64_t limit = [] {
    if (const char* env = std::getenv("KEEL_MAX_TENSOR_BYTES"); env && *env)
      if (const std::uint64_t v = parse_byte_size(env)) return v;
    const std::uint64_t mem = physical_memory();
    return mem < kHardCap ? mem : kHardCap;
  }();
  return limit;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace keel
