// Chooses the training run's OpenMP thread count from how long its threads
// wait for a CPU, when the user did not choose one (docs/performance.md,
// "Under load").
//
// With every core free, ops split over all cores are faster. With another
// process busy on a core, a thread of each parallel region is preempted and
// the region waits a scheduler time slice at its join: 5-10x slower than one
// thread. The kernel counts how long each thread waited on a run queue
// (/proc/self/task/*/schedstat); when this process's threads wait more than
// a tenth of the wall time, the count drops to one for a while, then all
// threads are tried again. Results do not change with the count
// (docs/performance.md, "Results and the thread count"), so switching is
// safe at any moment.
#pragma once

#include <chrono>

namespace keel {

class ThreadTuner {
 public:
  // `most` threads at most; 1 or less turns the tuner off.
  explicit ThreadTuner(int most);

  bool enabled() const { return most_ > 1; }
  // Called often (every step, before evaluations): looks at the last
  // window's waiting, and may change the count for what runs next.
  void tick();

 private:
  using Clock = std::chrono::steady_clock;
  void set(int threads);
  void start_window(Clock::time_point now);

  int most_, current_;
  Clock::time_point window_start_, reduced_until_;
  double waited_at_start_ = 0;
  bool first_ = true;
};

}  // namespace keel
