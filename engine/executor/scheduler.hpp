// How ready tasks are run. The executor describes one step as a task graph
// (dependency counts and successors) and hands it to a Scheduler, so a
// parallel scheduler can replace the sequential one without touching the
// executor or any op.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace keel {

struct TaskGraph {
  std::vector<std::vector<int>> successors;  // per task
  std::vector<int> indegree;                 // per task: how many tasks it waits for
  std::size_t size() const { return indegree.size(); }
  // Adds the edge before -> after once (a no-op when it exists).
  void add_edge(int before, int after);
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs every task once, each after all its predecessors. If a task throws,
  // no further task is started, the tasks already running finish, and the
  // first exception is rethrown (once).
  virtual void run(const TaskGraph& graph, const std::function<void(int task)>& task) = 0;
  // How many tasks may run at once.
  virtual int threads() const = 0;
};

// Runs tasks one at a time, ready tasks in increasing index order, so the
// execution order is deterministic.
class SequentialScheduler final : public Scheduler {
 public:
  void run(const TaskGraph& graph, const std::function<void(int task)>& task) override;
  int threads() const override { return 1; }
};

// Runs ready tasks on `threads` threads: the calling thread and threads - 1
// pool threads, started once and asleep between runs. A thread that
// finishes a task runs one of the tasks it made ready itself (a chain stays
// on one thread, with no hand-over) and queues the others for the pool.
class ParallelScheduler final : public Scheduler {
 public:
  explicit ParallelScheduler(int threads);
  ~ParallelScheduler() override;
  ParallelScheduler(const ParallelScheduler&) = delete;
  ParallelScheduler& operator=(const ParallelScheduler&) = delete;

  void run(const TaskGraph& graph, const std::function<void(int task)>& task) override;
  int threads() const override { return int(pool_.size()) + 1; }

 private:
  void pool_thread();
  // Takes and runs tasks until none is ready (pool threads) or the run is
  // over (the caller). Called and returns with the lock held.
  void work(std::unique_lock<std::mutex>& lock, bool caller);
  // All done, or nothing running or claimed and nothing more will start: a
  // failure, or a cycle (tasks left that can never become ready).
  bool finished() const { return done_ == graph_->size() || (running_ == 0 && (error_ || ready_.empty())); }

  std::mutex mutex_;
  std::condition_variable wake_;  // work was queued, the run finished, or stop
  std::condition_variable idle_;  // a pool thread left the run
  std::vector<std::thread> pool_;
  bool stop_ = false;
  // The current run, valid while open_.
  bool open_ = false;
  const TaskGraph* graph_ = nullptr;
  const std::function<void(int)>* task_ = nullptr;
  std::vector<int> waiting_;
  std::vector<int> ready_;  // a stack: the most recently readied first
  std::size_t done_ = 0;
  int running_ = 0;  // tasks running or claimed by a thread to run next
  int helpers_ = 0;  // pool threads inside the current run
  std::exception_ptr error_;
};

// Default --inter-op and intra-op split (docs/cli.md): inter-op threads run
// independent nodes; each node's op may use intra-op (OpenMP) threads.
struct ThreadPolicy {
  int total = 1;     // --threads: cores to use
  int inter_op = 1;  // --inter-op
  int intra_op = 1;  // OpenMP threads per node: max(1, total / inter_op)
};
// `threads` and `inter_op` as given (0: not given).
ThreadPolicy thread_policy(int threads, int inter_op);

std::unique_ptr<Scheduler> make_scheduler(int inter_op);

}  // namespace keel
