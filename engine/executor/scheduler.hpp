// How ready tasks are run. The executor describes one step as a task graph
// (dependency counts and successors) and hands it to a Scheduler, so a
// parallel scheduler can replace the sequential one without touching the
// executor or any op.
#pragma once

#include <functional>
#include <vector>

namespace keel {

struct TaskGraph {
  std::vector<std::vector<int>> successors;  // per task
  std::vector<int> indegree;                 // per task: how many tasks it waits for
  std::size_t size() const { return indegree.size(); }
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs every task once, each after all its predecessors. If a task throws,
  // no further task is started and the first exception is rethrown.
  virtual void run(const TaskGraph& graph, const std::function<void(int task)>& task) = 0;
};

// Runs tasks one at a time, ready tasks in increasing index order, so the
// execution order is deterministic.
class SequentialScheduler final : public Scheduler {
 public:
  void run(const TaskGraph& graph, const std::function<void(int task)>& task) override;
};

}  // namespace keel
