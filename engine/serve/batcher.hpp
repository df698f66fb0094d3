// Dynamic batching for one model: requests queue here and the model's one
// worker thread runs them, several at a time when the model allows it
// (ServedModel::batchable): the rows of requests that arrive within
// `max_delay` of the first, up to `max_rows` in all, go through one run,
// and each request gets its own rows back. Results are the same as one by
// one, since each row's result depends on that row alone. Without batching
// (max_rows 1, or a model that does not allow it) a request runs at once on
// the thread that submits it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/tensor.hpp"
#include "serve/served_model.hpp"

namespace keel::serve {

using Clock = std::chrono::steady_clock;

// A guard that fired on a request's rows.
struct GuardFlag {
  std::string guard, check, action;
  double score = 0, threshold = 0;
  std::vector<std::int64_t> rows;  // the request's own row numbers
};

struct JobResult {
  enum class Status { ok, rejected, expired, failed };
  Status status = Status::ok;
  std::vector<Tensor> outputs;  // ok and rejected: the request's rows of each output
  std::vector<GuardFlag> flags;
  std::string message;         // rejected (the guard's line), expired, failed
  std::size_t batch_rows = 0;  // rows in the run that served it
};

struct Job {
  std::vector<Tensor> inputs;  // checked (ServedModel::check)
  std::int64_t rows = 0;       // the inputs' first dimension
  Clock::time_point deadline;
  // Called once, on the worker thread (without batching: the submitting one).
  std::function<void(JobResult)> done;
};

class Batcher {
 public:
  // `on_run` (optional) hears of every run and its rows, for the metrics.
  Batcher(ServedModel& model, std::int64_t max_rows, std::chrono::microseconds max_delay,
          std::function<void(std::size_t rows)> on_run = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  void submit(Job job);
  // Finishes every queued job, then stops the worker; later submits are
  // answered as failed.
  void drain();

 private:
  void loop();
  std::vector<Job> take_batch(std::unique_lock<std::mutex>& lock);
  void run_batch(std::vector<Job>& jobs);

  ServedModel& model_;
  std::int64_t max_rows_;
  std::chrono::microseconds max_delay_;
  std::function<void(std::size_t)> on_run_;
  std::mutex mutex_;
  std::mutex run_mutex_;  // without batching: runs on the submitting threads, one at a time
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace keel::serve
