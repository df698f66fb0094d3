#include "training/sum_of_squares.hpp"

namespace keel {

double sum_of_squares(const float* v, std::int64_t n) {
  constexpr std::int64_t kLanes = 16;
  double lane[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t j = 0; j < kLanes; ++j) lane[j] += double(v[i + j]) * double(v[i + j]);
  double s = 0;
  for (; i < n; ++i) s += double(v[i]) * double(v[i]);
  for (double l : lane) s += l;
  return s;
}

}  // namespace keel
