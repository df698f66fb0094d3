#include "executor/scheduler.hpp"

#include <queue>
#include <stdexcept>

namespace keel {

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

}  // namespace keel
