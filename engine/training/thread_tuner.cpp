#include "training/thread_tuner.hpp"

#include <dlfcn.h>

#include <algorithm>

namespace keel {
namespace {

// Steps per stage: the first steps of a run are slower (fresh memory, first
// primitives), then each count is timed by the median of a few steps, and
// the choice is kept a while before the next comparison.
constexpr std::int64_t kSettleSteps = 3;
constexpr std::int64_t kMeasureSteps = 5;
constexpr std::int64_t kHoldSteps = 100;
// The other count must be this much faster to take over: noise between
// step times must not flip the choice back and forth.
constexpr double kMargin = 0.95;

// The OpenMP runtime came with the plugins (oneDNN's); the engine itself
// does not link one, so its entry point is looked up when first needed.
void set_openmp_threads(int n) {
  using Set = void (*)(int);
  static const auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set) set(n);
}

}  // namespace

ThreadTuner::ThreadTuner(int most) : most_(most), current_(most), best_(most), left_(kSettleSteps) {}

void ThreadTuner::set(int threads) {
  current_ = threads;
  set_openmp_threads(threads);
}

double ThreadTuner::median(std::vector<double>& v) {
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
  return v[v.size() / 2];
}

void ThreadTuner::before_step() {
  if (!enabled()) return;
  if (stage_ == Stage::probe && samples_.empty()) set(best_ == most_ ? 1 : most_);
}

void ThreadTuner::after_step(double seconds_per_row) {
  if (!enabled()) return;
  if (stage_ != Stage::settle && stage_ != Stage::hold) samples_.push_back(seconds_per_row);
  if (--left_ > 0) return;
  switch (stage_) {
    case Stage::settle:
    case Stage::hold:
      stage_ = Stage::measure;  // time the current choice afresh
      left_ = kMeasureSteps;
      samples_.clear();
      return;
    case Stage::measure:
      best_time_ = median(samples_);
      best_ = current_;
      stage_ = Stage::probe;
      left_ = kMeasureSteps;
      samples_.clear();
      return;
    case Stage::probe:
      if (median(samples_) < kMargin * best_time_) best_ = current_;
      set(best_);
      stage_ = Stage::hold;
      left_ = kHoldSteps;
      samples_.clear();
      return;
  }
}

}  // namespace keel
