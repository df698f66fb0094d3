#include "executor/scheduler.hpp"

#include <algorithm>
#include <queue>
#include <stdexcept>

namespace keel {

void TaskGraph::add_edge(int before, int after) {
  auto& succ = successors[std::size_t(before)];
  if (std::find(succ.begin(), succ.end(), after) != succ.end()) return;
  succ.push_back(after);
  ++indegree[std::size_t(after)];
}

void SequentialScheduler::run(const TaskGraph& graph, const std::function<void(int)>& task) {
  std::vector<int> waiting = graph.indegree;
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (std::size_t t = 0; t < graph.size(); ++t)
    if (waiting[t] == 0) ready.push(int(t));
  std::size_t done = 0;
  while (!ready.empty()) {
    int t = ready.top();
    ready.pop();
    task(t);
    ++done;
    for (int s : graph.successors[std::size_t(t)])
      if (--waiting[std::size_t(s)] == 0) ready.push(s);
  }
  if (done != graph.size()) throw std::logic_error("task graph has a cycle");
}

ParallelScheduler::ParallelScheduler(int threads) {
  for (int i = 1; i < threads; ++i) pool_.emplace_back([this] { pool_thread(); });
}

ParallelScheduler::~ParallelScheduler() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : pool_) t.join();
}

void ParallelScheduler::pool_thread() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || (open_ && !ready_.empty() && !error_); });
    if (stop_) return;
    ++helpers_;
    work(lock, false);
    if (--helpers_ == 0) idle_.notify_all();
  }
}

void ParallelScheduler::run(const TaskGraph& graph, const std::function<void(int)>& task) {
  std::unique_lock lock(mutex_);
  graph_ = &graph;
  task_ = &task;
  waiting_ = graph.indegree;
  ready_.clear();
  for (std::size_t t = graph.size(); t-- > 0;)
    if (waiting_[t] == 0) ready_.push_back(int(t));  // lowest index on top
  done_ = 0;
  running_ = 0;
  error_ = nullptr;
  open_ = true;
  if (ready_.size() > 1) wake_.notify_all();
  work(lock, true);
  // Pool threads still inside the run have nothing left to do but leave.
  open_ = false;
  idle_.wait(lock, [&] { return helpers_ == 0; });
  std::exception_ptr error = error_;
  error_ = nullptr;
  const bool complete = done_ == graph.size();
  lock.unlock();
  if (error) std::rethrow_exception(error);
  if (!complete) throw std::logic_error("task graph has a cycle");
}

void ParallelScheduler::work(std::unique_lock<std::mutex>& lock, bool caller) {
  int next = -1;
  for (;;) {
    if (error_ && next >= 0) {  // cancelled: start nothing more
      --running_;
      next = -1;
    }
    if (next < 0) {
      if (caller) {
        wake_.wait(lock, [&] { return finished() || (!ready_.empty() && !error_); });
        if (finished()) return;
      } else if (ready_.empty() || error_) {
        return;
      }
      next = ready_.back();
      ready_.pop_back();
      ++running_;
    }
    lock.unlock();
    std::exception_ptr failed;
    try {
      (*task_)(next);
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    --running_;
    ++done_;
    const int finished_task = next;
    next = -1;
    if (failed) {
      if (!error_) error_ = failed;
    } else if (!error_) {
      std::size_t queued = 0;
      for (int s : graph_->successors[std::size_t(finished_task)]) {
        if (--waiting_[std::size_t(s)] != 0) continue;
        if (next < 0) {
          next = s;
        } else {
          ready_.push_back(s);
          ++queued;
        }
      }
      if (next >= 0) ++running_;  // claimed by this thread
      if (queued == 1) wake_.notify_one();
      if (queued > 1) wake_.notify_all();
    }
    if (finished()) wake_.notify_all();  // the caller waits for this
  }
}

ThreadPolicy thread_policy(int threads, int inter_op) {
  ThreadPolicy p;
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  p.total = threads > 0 ? threads : cores;
  p.inter_op = inter_op > 0 ? inter_op : 1;
  p.intra_op = std::max(1, p.total / p.inter_op);
  return p;
}

std::unique_ptr<Scheduler> make_scheduler(int inter_op) {
  if (inter_op <= 1) return std::make_unique<SequentialScheduler>();
  return std::make_unique<ParallelScheduler>(inter_op);
}

}  // namespace keel
