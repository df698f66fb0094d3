// Per-step series shown in a report: at most a fixed number of points,
// whatever the run's length, without hiding what matters in a training
// curve (a spike, a NaN). The raw series stays in the run folder.
#pragma once

#include <cstddef>
#include <vector>

namespace keel {

// Indices into `y` to draw, ascending. All of them when y.size() <=
// max_points; otherwise y is cut into max_points / 3 equal buckets and each
// keeps its smallest and largest finite value and its first value that is
// not finite (in step order), so a spike or a NaN survives any reduction.
std::vector<std::size_t> display_points(const std::vector<double>& y, std::size_t max_points);

}  // namespace keel
