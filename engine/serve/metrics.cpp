#include "serve/metrics.hpp"

#include <cstdio>

namespace keel::serve {

namespace {

// A label value as Prometheus escapes it: backslash, quote and newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Metrics::request(const std::string& model, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{model, status}];
  if (model.empty()) return;
  Histogram& h = latency_[model];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::guard_event(const std::string& model, const std::string& guard) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++guard_events_[{model, guard}];
}

void Metrics::rejected(const std::string& model, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejected_[{model, reason}];
}

void Metrics::batch(const std::string& model, std::size_t rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& b = batches_[model];
  ++b.first;
  b.second += rows;
}

void Metrics::connection_refused() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++connections_refused_;
}

std::string Metrics::text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP keel_requests_total Requests answered, by model and HTTP status code.\n";
  out += "# TYPE keel_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "keel_requests_total{model=\"" + label(key.first) + "\",code=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP keel_request_duration_seconds Time from a request's last byte to its answer, by model.\n";
  out += "# TYPE keel_request_duration_seconds histogram\n";
  for (const auto& [model, h] : latency_) {
    const std::string m = "model=\"" + label(model) + "\"";
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out += "keel_request_duration_seconds_bucket{" + m + ",le=\"" + number(kBuckets[i]) + "\"} " +
             std::to_string(h.counts[i]) + "\n";
    out += "keel_request_duration_seconds_bucket{" + m + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "keel_request_duration_seconds_sum{" + m + "} " + number(h.sum) + "\n";
    out += "keel_request_duration_seconds_count{" + m + "} " + std::to_string(h.count) + "\n";
  }
  out += "# HELP keel_guard_events_total Guards that fired on a request's rows, by model and guard.\n";
  out += "# TYPE keel_guard_events_total counter\n";
  for (const auto& [key, n] : guard_events_)
    out += "keel_guard_events_total{model=\"" + label(key.first) + "\",guard=\"" + label(key.second) +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP keel_rejected_requests_total Requests answered with an error, by model and reason.\n";
  out += "# TYPE keel_rejected_requests_total counter\n";
  for (const auto& [key, n] : rejected_)
    out += "keel_rejected_requests_total{model=\"" + label(key.first) + "\",reason=\"" + label(key.second) +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP keel_batches_total Runs of a model (several requests share one under dynamic batching).\n";
  out += "# TYPE keel_batches_total counter\n";
  for (const auto& [model, b] : batches_)
    out += "keel_batches_total{model=\"" + label(model) + "\"} " + std::to_string(b.first) + "\n";
  out += "# HELP keel_batch_rows_total Rows run, by model.\n";
  out += "# TYPE keel_batch_rows_total counter\n";
  for (const auto& [model, b] : batches_)
    out += "keel_batch_rows_total{model=\"" + label(model) + "\"} " + std::to_string(b.second) + "\n";
  out +=
      "# HELP keel_connections_refused_total Connections closed at once: the connection limit was reached.\n";
  out += "# TYPE keel_connections_refused_total counter\n";
  out += "keel_connections_refused_total " + std::to_string(connections_refused_) + "\n";
  return out;
}

}  // namespace keel::serve
