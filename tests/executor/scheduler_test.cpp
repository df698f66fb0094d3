// The schedulers against the definition of a schedule: every task runs
// exactly once, never before any of its predecessors finished, and the
// first failure stops everything not yet started.
#include "executor/scheduler.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <stdexcept>

using namespace keel;

namespace {

// A random DAG: edges only from lower to higher index.
TaskGraph random_dag(int n, double p, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution edge(p);
  TaskGraph g;
  g.successors.assign(std::size_t(n), {});
  g.indegree.assign(std::size_t(n), 0);
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b)
      if (edge(rng)) g.add_edge(a, b);
  return g;
}

// Runs `g` and checks the schedule: a global clock stamps each task's start
// and end; every successor must start after its predecessor ended.
void check_schedule(Scheduler& s, const TaskGraph& g) {
  const std::size_t n = g.size();
  std::atomic<int> clock{0};
  std::vector<std::atomic<int>> start(n), end(n), runs(n);
  for (std::size_t i = 0; i < n; ++i) start[i] = end[i] = runs[i] = 0;
  s.run(g, [&](int t) {
    start[std::size_t(t)] = ++clock;
    ++runs[std::size_t(t)];
    volatile int spin = 0;
    for (int k = 0; k < (t % 7) * 200; ++k) spin = spin + 1;
    end[std::size_t(t)] = ++clock;
  });
  for (std::size_t t = 0; t < n; ++t) {
    REQUIRE(runs[t] == 1);
    for (int succ : g.successors[t]) REQUIRE(start[std::size_t(succ)] > end[t]);
  }
}

}  // namespace

TEST_CASE("the parallel scheduler runs every task once, after all its predecessors") {
  for (int threads : {2, 3, 4}) {
    ParallelScheduler s(threads);
    CHECK(s.threads() == threads);
    for (std::uint32_t seed = 1; seed <= 20; ++seed) check_schedule(s, random_dag(60, 0.05, seed));
    check_schedule(s, random_dag(200, 0.0, 99));  // all independent
    check_schedule(s, random_dag(200, 1.0, 98));  // a total order
  }
}

TEST_CASE("the sequential scheduler runs tasks in index order when that is topological") {
  SequentialScheduler s;
  const TaskGraph g = random_dag(50, 0.1, 7);
  std::vector<int> order;
  s.run(g, [&](int t) { order.push_back(t); });
  std::vector<int> expected(50);
  for (int i = 0; i < 50; ++i) expected[std::size_t(i)] = i;
  CHECK(order == expected);
}

TEST_CASE("the parallel scheduler really runs independent tasks at once") {
  ParallelScheduler s(2);
  const TaskGraph g = random_dag(2, 0.0, 1);
  // Each task waits until both have started; one thread at a time would hang
  // (bounded by the spin limit, so a failure cannot hang the suite).
  std::atomic<int> started{0};
  std::atomic<bool> met{true};
  s.run(g, [&](int) {
    ++started;
    for (long k = 0; started < 2; ++k)
      if (k > 2000000000L) {
        met = false;
        return;
      }
  });
  CHECK(met);
}

TEST_CASE("a failing task stops the run: later tasks do not start and the error comes out once") {
  for (int threads : {1, 2, 4}) {
    auto s = make_scheduler(threads);
    // A chain 0 -> 1 -> ... -> 9 where task 3 throws.
    TaskGraph chain = random_dag(10, 1.0, 3);
    std::vector<std::atomic<int>> ran(10);
    for (auto& r : ran) r = 0;
    int caught = 0;
    try {
      s->run(chain, [&](int t) {
        ++ran[std::size_t(t)];
        if (t == 3) throw std::runtime_error("task 3 failed");
      });
    } catch (const std::runtime_error& e) {
      ++caught;
      CHECK(std::string(e.what()) == "task 3 failed");
    }
    CHECK(caught == 1);
    for (int t = 0; t < 10; ++t) CHECK(ran[std::size_t(t)] == (t <= 3 ? 1 : 0));

    // Many independent tasks that all fail: exactly one exception, and the
    // scheduler still works afterwards.
    TaskGraph wide = random_dag(100, 0.0, 4);
    std::atomic<int> started{0};
    caught = 0;
    try {
      s->run(wide, [&](int t) {
        ++started;
        throw std::runtime_error("task " + std::to_string(t));
      });
    } catch (const std::runtime_error&) {
      ++caught;
    }
    CHECK(caught == 1);
    CHECK(started <= threads);  // cancelled: nothing started after the first failure was seen
    check_schedule(*s, random_dag(40, 0.1, 5));
  }
}

TEST_CASE("a cycle is reported, not waited on forever") {
  TaskGraph g;
  g.successors.assign(3, {});
  g.indegree.assign(3, 0);
  g.add_edge(0, 1);
  g.add_edge(1, 2);
  g.add_edge(2, 1);
  for (int threads : {1, 2}) {
    auto s = make_scheduler(threads);
    CHECK_THROWS_AS(s->run(g, [](int) {}), std::logic_error);
  }
}

TEST_CASE("the thread policy divides the cores between inter-op and intra-op threads") {
  auto p = thread_policy(8, 2);
  CHECK(p.total == 8);
  CHECK(p.inter_op == 2);
  CHECK(p.intra_op == 4);
  p = thread_policy(3, 2);
  CHECK(p.intra_op == 1);
  p = thread_policy(2, 4);  // more inter-op threads than cores: one OpenMP thread each
  CHECK(p.intra_op == 1);
  p = thread_policy(4, 0);
  CHECK(p.inter_op == 1);
  CHECK(p.intra_op == 4);
}
