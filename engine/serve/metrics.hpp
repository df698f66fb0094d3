// The counters behind GET /metrics, in Prometheus' text format (version
// 0.0.4): requests by model and status code, a latency histogram per model,
// guard events by model and guard, rejected requests by reason, batches.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace keel::serve {

class Metrics {
 public:
  // One answered request: `model` may be empty (no model was addressed).
  void request(const std::string& model, int status, double seconds);
  void guard_event(const std::string& model, const std::string& guard);
  void rejected(const std::string& model, const std::string& reason);
  void batch(const std::string& model, std::size_t rows);
  void connection_refused();

  std::string text() const;

  // Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,   0.01,   0.025,   0.05,   0.1,   1.0};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> guard_events_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> rejected_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> batches_;  // runs, rows
  std::uint64_t connections_refused_ = 0;
};

}  // namespace keel::serve
