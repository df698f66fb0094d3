// Chooses the training loop's OpenMP thread count from measured step times
// when the user did not choose one (docs/performance.md, "Under load").
//
// With every core free, more threads are faster for large ops; with another
// process busy on a core, an OpenMP thread of each op is preempted and the
// op waits a scheduler time slice at its join, so one thread is faster (a
// 10x difference on the flagship here). Which case holds changes while a run
// goes on, so the tuner measures: it times steps at the current count, then
// a few at the other, keeps the faster, and measures again later. Results
// do not change with the count (docs/performance.md, "Results and the
// thread count"), so switching is safe at any step.
#pragma once

#include <cstdint>
#include <vector>

namespace keel {

class ThreadTuner {
 public:
  // `most` threads at most; 1 or less turns the tuner off.
  explicit ThreadTuner(int most);

  bool enabled() const { return most_ > 1; }
  int threads() const { return current_; }
  // Sets the OpenMP thread count for the coming step.
  void before_step();
  // The step's wall time per row of its batch.
  void after_step(double seconds_per_row);

 private:
  void set(int threads);
  static double median(std::vector<double>& v);

  int most_, current_, best_;
  enum class Stage { settle, measure, probe, hold } stage_ = Stage::settle;
  std::int64_t left_ = 0;  // steps left in this stage
  double best_time_ = 0;
  std::vector<double> samples_;
};

}  // namespace keel
