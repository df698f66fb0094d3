#include "runtime/memory_limit.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "base/error.hpp"

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
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        return 0;
    }
    ++i;
    if (i < text.size() && (text[i] == 'B' || text[i] == 'b')) ++i;
  }
  if (i != text.size()) return 0;
  if (shift && value > (~std::uint64_t{0} >> shift)) return 0;
  return value << shift;
}

std::uint64_t max_tensor_bytes() {
  // A malformed value is an error, not ignored: a user who set a limit and
  // mistyped it must not run without one. A value above the machine's memory
  // is clamped (with one warning): the variable can only lower the limit.
  static const std::uint64_t limit = [] {
    const std::uint64_t mem = physical_memory();
    const std::uint64_t machine = mem < kHardCap ? mem : kHardCap;
    const char* env = std::getenv("KEEL_MAX_TENSOR_BYTES");
    if (!env || !*env) return machine;  // set but empty: as if unset
    const std::uint64_t asked = parse_byte_size(env);
    if (asked == 0)
      throw usage_error(
          "KEEL_MAX_TENSOR_BYTES='" + printable(env) +
          "' is not a size: give a positive whole number of bytes, optionally followed by K, M, G "
          "or T (powers of 1024), e.g. 512M");
    if (asked > machine) {
      std::fprintf(stderr, "keel: warning: KEEL_MAX_TENSOR_BYTES=%s is more than %s (%s); using that\n",
                   printable(env).c_str(), mem < kHardCap ? "this machine's memory" : "the 1 TiB cap",
                   format_bytes(machine).c_str());
      return machine;
    }
    return asked;
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
