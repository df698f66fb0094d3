#include "serve/batcher.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "base/error.hpp"
#include "base/json.hpp"

namespace keel::serve {

namespace {

// The rows of several requests' tensors, one after the other.
Tensor concat_rows(const std::vector<Job>& jobs, std::size_t input) {
  const Tensor& first = jobs.front().inputs[input];
  Shape shape = first.shape();
  shape[0] = 0;
  for (const Job& j : jobs) shape[0] += j.inputs[input].shape()[0];
  Tensor out(first.dtype(), shape);
  auto* dst = static_cast<unsigned char*>(out.data());
  for (const Job& j : jobs) {
    const Tensor& t = j.inputs[input];
    if (t.nbytes()) std::memcpy(dst, t.data(), t.nbytes());
    dst += t.nbytes();
  }
  return out;
}

// Rows [from, from + count) of `t`.
Tensor slice_rows(const Tensor& t, std::int64_t from, std::int64_t count) {
  Shape shape = t.shape();
  const std::size_t row_bytes = shape[0] ? t.nbytes() / std::size_t(shape[0]) : 0;
  shape[0] = count;
  Tensor out(t.dtype(), shape);
  if (out.nbytes())
    std::memcpy(out.data(), static_cast<const unsigned char*>(t.data()) + std::size_t(from) * row_bytes,
                out.nbytes());
  return out;
}

const char* action_name(GuardAction a) {
  switch (a) {
    case GuardAction::report:
      return "report";
    case GuardAction::mask:
      return "mask";
    case GuardAction::abort:
      return "reject";
    case GuardAction::skip_step:
      return "skip_step";
    case GuardAction::rollback:
      return "rollback";
  }
  return "report";
}

// The part of `e` about rows [from, from + count), re-numbered from 0; an
// event about no rows in particular concerns every request of the run.
std::optional<GuardFlag> flag_for(const GuardEvent& e, std::int64_t from, std::int64_t count) {
  GuardFlag f{e.node, e.check, action_name(e.act), e.score, e.threshold, {}};
  if (e.rows.empty()) return f;
  for (std::int64_t r : e.rows)
    if (r >= from && r < from + count) f.rows.push_back(r - from);
  if (f.rows.empty()) return std::nullopt;
  return f;
}

}  // namespace

Batcher::Batcher(ServedModel& model, std::int64_t max_rows, std::chrono::microseconds max_delay,
                 std::function<void(std::size_t)> on_run)
    : model_(model),
      max_rows_(model.batchable() ? std::max<std::int64_t>(1, max_rows) : 1),
      max_delay_(max_delay),
      on_run_(std::move(on_run)) {
  // Without batching there is nothing to wait for: requests run on the
  // thread that submits them, which spares two thread wake-ups per request.
  if (max_rows_ > 1) worker_ = std::thread([this] { loop(); });
}

Batcher::~Batcher() { drain(); }

void Batcher::submit(Job job) {
  if (!worker_.joinable()) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!stopping_) {
      std::vector<Job> one;
      one.push_back(std::move(job));
      lock.unlock();
      // One run at a time: the model's executor is not shared.
      std::lock_guard<std::mutex> run_lock(run_mutex_);
      run_batch(one);
      return;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  JobResult r;
  r.status = JobResult::Status::failed;
  r.message = "the server is shutting down";
  job.done(std::move(r));
}

void Batcher::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::vector<Job> Batcher::take_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<Job> jobs;
  std::int64_t rows = 0;
  auto take_fitting = [&] {
    while (!queue_.empty() && (jobs.empty() || rows + queue_.front().rows <= max_rows_)) {
      rows += queue_.front().rows;
      jobs.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  };
  take_fitting();
  // Wait for company only when batching and there is room: a lone request
  // pays at most max_delay.
  const Clock::time_point until = Clock::now() + max_delay_;
  while (max_rows_ > 1 && rows < max_rows_ && queue_.empty() && !stopping_ && max_delay_.count() > 0) {
    if (wake_.wait_until(lock, until) == std::cv_status::timeout) break;
    take_fitting();
    if (!queue_.empty()) break;  // the next one does not fit
  }
  return jobs;
}

void Batcher::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    std::vector<Job> jobs = take_batch(lock);
    lock.unlock();
    run_batch(jobs);
    lock.lock();
  }
}

void Batcher::run_batch(std::vector<Job>& jobs) {
  // Requests past their deadline are answered without running.
  const Clock::time_point now = Clock::now();
  std::vector<Job> live;
  for (Job& j : jobs) {
    if (now <= j.deadline) {
      live.push_back(std::move(j));
      continue;
    }
    JobResult r;
    r.status = JobResult::Status::expired;
    r.message = "the request's deadline passed before it could run";
    j.done(std::move(r));
  }
  if (live.empty()) return;
  std::size_t total = 0;
  for (const Job& j : live) total += std::size_t(j.rows);
  RunOutcome outcome;
  try {
    if (live.size() == 1) {
      outcome = model_.run(live.front().inputs);
    } else {
      std::vector<Tensor> inputs;
      for (std::size_t i = 0; i < live.front().inputs.size(); ++i) inputs.push_back(concat_rows(live, i));
      outcome = model_.run(inputs);
    }
  } catch (const std::exception& e) {
    const Error* ke = dynamic_cast<const Error*>(&e);
    for (Job& j : live) {
      JobResult r;
      r.status = JobResult::Status::failed;
      r.message = ke ? ke->format() : std::string("internal error: ") + e.what();
      j.done(std::move(r));
    }
    return;
  }
  if (on_run_) on_run_(total);
  std::int64_t from = 0;
  for (Job& j : live) {
    JobResult r;
    r.batch_rows = total;
    for (const Tensor& t : outcome.outputs)
      r.outputs.push_back(live.size() == 1 ? t : slice_rows(t, from, j.rows));
    for (const GuardEvent& e : outcome.events) {
      auto f = flag_for(e, from, j.rows);
      if (!f) continue;
      if (e.act == GuardAction::abort && r.status == JobResult::Status::ok) {
        r.status = JobResult::Status::rejected;
        r.message = "guard '" + e.node + "' (" + e.check + ") rejected the request: score " +
                    json_number(e.score) + " against threshold " + json_number(e.threshold);
      }
      r.flags.push_back(std::move(*f));
    }
    from += j.rows;
    j.done(std::move(r));
  }
}

}  // namespace keel::serve
