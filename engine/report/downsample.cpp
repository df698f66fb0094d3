#include "report/downsample.hpp"

#include <algorithm>
#include <cmath>

namespace keel {

std::vector<std::size_t> display_points(const std::vector<double>& y, std::size_t max_points) {
  std::vector<std::size_t> out;
  const std::size_t n = y.size();
  if (n <= max_points || max_points < 2) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  const std::size_t buckets = std::max<std::size_t>(1, max_points / 3);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
    std::size_t low = lo, high = lo, bad = hi;
    for (std::size_t i = lo; i < hi; ++i) {
      if (!std::isfinite(y[i])) {
        bad = std::min(bad, i);
        continue;
      }
      if (!std::isfinite(y[low]) || y[i] < y[low]) low = i;
      if (!std::isfinite(y[high]) || y[i] > y[high]) high = i;
    }
    std::vector<std::size_t> keep;
    if (bad < hi) keep.push_back(bad);
    if (std::isfinite(y[low])) keep.push_back(low);
    if (std::isfinite(y[high]) && high != low) keep.push_back(high);
    std::sort(keep.begin(), keep.end());
    out.insert(out.end(), keep.begin(), keep.end());
  }
  return out;
}

}  // namespace keel
