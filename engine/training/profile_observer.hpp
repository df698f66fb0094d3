// `keel run --profile`: the trainer's phases (steps, guards, updates,
// checkpoints, evaluations, writes) as spans of the run's trace, beside the
// executor's own spans per node.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "executor/profiler.hpp"
#include "training/train_observer.hpp"

namespace keel {

class ProfileObserver final : public TrainObserver {
 public:
  explicit ProfileObserver(Profiler& profiler);

  void on_phase_begin(Phase phase, std::int64_t step) noexcept override;
  void on_phase_end(Phase phase) noexcept override;

 private:
  struct Open {
    Phase phase;
    std::int64_t step;
    Profiler::Clock::time_point begin;
  };
  Profiler& profiler_;
  std::array<int, 7> names_{};  // span name ids, by Phase
  std::vector<Open> open_;      // phases nest
};

}  // namespace keel
