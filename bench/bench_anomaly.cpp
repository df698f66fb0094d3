// Anomaly scans against memory bandwidth: each check's scan (the functions
// the anomaly plugin's ops run, plugins/anomaly/scans.hpp) over a tensor far
// larger than the caches, next to a STREAM-style read of the same buffer
// (every 32-bit word loaded once and folded with XOR: the cheapest pass
// that reads all the bytes), in the same run. Prints JSON for report.py:
// per scan, its GB/s, the read's GB/s, their ratio, and the target: the
// scan's time at most kTarget times the read's (every scan reads its input
// once, so anything slower is arithmetic the memory does not hide).
//
//   bench_anomaly [--quick]    --quick: 64 MiB and 3 rounds
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "scans.hpp"

namespace {

// The floor: read every word once. Integer XOR vectorizes without any
// floating-point reassociation question.
__attribute__((noinline)) std::uint32_t stream_read(const float* x, std::int64_t n) {
  const auto* w = reinterpret_cast<const std::uint32_t*>(x);
  std::uint32_t lane[16] = {};  // independent lanes, as the scans use
  for (std::int64_t i = 0; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) lane[j] ^= w[i + j];
  std::uint32_t acc = 0;
  for (std::uint32_t v : lane) acc ^= v;
  return acc;
}

volatile double sink;  // keeps every result alive

constexpr double kTarget = 1.15;  // scan time / read time

}  // namespace

int main(int argc, char** argv) {
  using namespace keel;
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const std::int64_t bytes = std::int64_t(quick ? 64 : 256) << 20;
  const std::int64_t n = bytes / 4, cols = 64, rows = n / cols;
  std::unique_ptr<float, decltype(&std::free)> buf(
      static_cast<float*>(std::aligned_alloc(64, std::size_t(bytes))), &std::free);
  float* x = buf.get();
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> pixel(0.0f, 16.0f);
  for (std::int64_t i = 0; i < n; ++i) x[i] = pixel(rng);  // finite: every scan runs to the end
  std::vector<float> mean(cols, 8.0f), inv_std(cols, 0.25f), lo(cols, 0.0f), hi(cols, 16.0f);
  std::vector<float> mask(static_cast<std::size_t>(rows)), stat(static_cast<std::size_t>(rows));

  const std::vector<bench::Variant> variants{
      {"STREAM-style read", [&] { sink = stream_read(x, n); }},
      {"nonfinite", [&] { sink = double(anomaly::count_nonfinite(x, n)); }},
      {"range",
       [&] { sink = double(anomaly::range_rows(x, rows, cols, lo.data(), hi.data(), mask.data())); }},
      {"zscore (max)",
       [&] {
         anomaly::zscore_rows(x, rows, cols, mean.data(), inv_std.data(), true, stat.data());
         sink = stat[0];
       }},
      {"zscore (mean)",
       [&] {
         anomaly::zscore_rows(x, rows, cols, mean.data(), inv_std.data(), false, stat.data());
         sink = stat[0];
       }},
      {"grad_norm (sum of squares)", [&] { sink = anomaly::sum_of_squares(x, n); }},
  };
  const std::vector<double> secs = bench::compare(variants, quick ? 3 : 15, 0.0);
  const double read_gbps = double(bytes) / secs[0] / 1e9;
  std::printf("[");
  for (std::size_t k = 1; k < variants.size(); ++k) {
    const double gbps = double(bytes) / secs[k] / 1e9;
    const double time_ratio = secs[k] / secs[0];
    std::printf(
        "%s\n {\"scan\": \"%s\", \"mib\": %lld, \"ms\": %.3f, \"gbps\": %.2f, \"read_gbps\": %.2f, "
        "\"ratio\": %.3f, \"time_ratio\": %.3f, \"target\": \"<= %.2f: %s\"}",
        k > 1 ? "," : "", variants[k].name.c_str(), static_cast<long long>(bytes >> 20), secs[k] * 1e3, gbps,
        read_gbps, gbps / read_gbps, time_ratio, kTarget, time_ratio <= kTarget ? "met" : "missed");
  }
  std::printf("\n]\n");
  return 0;
}
