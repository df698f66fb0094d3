#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/random.hpp"
#include "runtime/dataset.hpp"

using Catch::Matchers::Contains;

namespace {

bool is_permutation_of_iota(std::vector<std::size_t> p) {
  std::sort(p.begin(), p.end());
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] != i) return false;
  return true;
}

// The documented construction, written out independently: step i (from n-1
// down to 1) swaps element i with element floor(x * (i + 1) / 2^64), x being
// draw i of the stream "permutation:<stream>". The high half of the 64x64-bit
// product is formed from 32-bit pieces here. The rejection the engine adds
// triggers with probability below (i + 1) / 2^64, never for these sizes.
std::vector<std::size_t> reference_permutation(std::size_t n, std::uint64_t seed, std::uint64_t stream) {
  const std::uint64_t key = keel::stream_key(seed, "permutation:" + std::to_string(stream));
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  for (std::size_t i = n; i-- > 1;) {
    const std::uint64_t x = keel::bits_at(key, i), r = i + 1;
    const std::uint64_t x_hi = x >> 32, x_lo = x & 0xFFFFFFFF, r_hi = r >> 32, r_lo = r & 0xFFFFFFFF;
    const std::uint64_t lo_lo = x_lo * r_lo, hi_lo = x_hi * r_lo, lo_hi = x_lo * r_hi, hi_hi = x_hi * r_hi;
    const std::uint64_t mid = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFF) + (lo_hi & 0xFFFFFFFF);
    const std::uint64_t high = hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (mid >> 32);
    std::swap(p[i], p[high]);
  }
  return p;
}

}  // namespace

TEST_CASE("permutation holds every index once, for any size") {
  for (std::size_t n : {0, 1, 2, 3, 10, 1000, 1797}) {
    INFO("n = " << n);
    const std::vector<std::size_t> p = keel::permutation(n, 42, 0);
    CHECK(p.size() == n);
    CHECK(is_permutation_of_iota(p));
  }
}

TEST_CASE("permutation follows the documented Fisher-Yates over the counter-based stream") {
  for (std::uint64_t stream : {0, 1, 7}) {
    for (std::size_t n : {2, 5, 100, 1797}) {
      INFO("stream " << stream << ", n = " << n);
      CHECK(keel::permutation(n, 1234, stream) == reference_permutation(n, 1234, stream));
    }
  }
}

TEST_CASE("permutation depends only on seed and stream") {
  const auto a = keel::permutation(100, 5, 3);
  CHECK(keel::permutation(100, 5, 3) == a);
  CHECK(keel::permutation(100, 5, 4) != a);
  CHECK(keel::permutation(100, 6, 3) != a);
}

TEST_CASE("permutation places an element uniformly over many streams") {
  constexpr std::size_t kN = 10;
  constexpr int kStreams = 20000;
  std::vector<int> position_of_zero(kN, 0), value_at_last(kN, 0);
  for (int s = 0; s < kStreams; ++s) {
    const auto p = keel::permutation(kN, 99, static_cast<std::uint64_t>(s));
    ++position_of_zero[static_cast<std::size_t>(std::find(p.begin(), p.end(), 0) - p.begin())];
    ++value_at_last[p.back()];
  }
  auto chi_square = [&](const std::vector<int>& counts) {
    const double expected = double(kStreams) / kN;
    double chi = 0;
    for (int c : counts) chi += (c - expected) * (c - expected) / expected;
    return chi;
  };
  // 9 degrees of freedom: P(chi^2 > 40) is about 7e-6, so a failure means bias.
  CHECK(chi_square(position_of_zero) < 40);
  CHECK(chi_square(value_at_last) < 40);
}

TEST_CASE("split holds out the last round(holdout * n) of the seeded order, both parts sorted") {
  const keel::Split s = keel::split_rows(1797, 0.2, 7);
  CHECK(s.holdout.size() == 359);  // round(359.4)
  CHECK(s.train.size() == 1438);
  CHECK(std::is_sorted(s.train.begin(), s.train.end()));
  CHECK(std::is_sorted(s.holdout.begin(), s.holdout.end()));
  std::vector<std::size_t> both = s.train;
  both.insert(both.end(), s.holdout.begin(), s.holdout.end());
  CHECK(is_permutation_of_iota(both));  // disjoint and complete

  std::vector<std::size_t> expected_holdout = reference_permutation(1797, 7, 0);
  expected_holdout.erase(expected_holdout.begin(), expected_holdout.end() - 359);
  std::sort(expected_holdout.begin(), expected_holdout.end());
  CHECK(s.holdout == expected_holdout);

  CHECK(keel::split_rows(1797, 0.2, 7).holdout == s.holdout);
  CHECK(keel::split_rows(1797, 0.2, 8).holdout != s.holdout);
  CHECK(keel::split_rows(10, 0.25, 7).holdout.size() == 3);  // round(2.5) rounds half away from zero
  CHECK(keel::split_rows(10, 0.0, 7).train.size() == 10);
  CHECK(keel::split_rows(0, 0.5, 7).train.empty());
}

TEST_CASE("split rejects a holdout fraction that is negative, 1 or more, or NaN") {
  for (double bad : {-0.1, 1.0, 1.5, std::nan("")}) {
    INFO(bad);
    try {
      keel::split_rows(10, bad, 1);
      FAIL("no error");
    } catch (const keel::Error& e) {
      CHECK(e.code() == keel::ExitCode::usage);
      CHECK_THAT(e.message(), Contains("must be in [0, 1)"));
    }
  }
}
