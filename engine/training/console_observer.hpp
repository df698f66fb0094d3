// What `keel run` prints while it trains: on a terminal a progress bar and
// the first guard events as lines above it; at most twenty epoch lines;
// at the end the guard summary and the step rate, or why the run stopped.
// Nothing with --quiet, except the stop message (stderr).
#pragma once

#include <chrono>
#include <cstddef>

#include "training/train_observer.hpp"

namespace keel {

class ConsoleObserver final : public TrainObserver {
 public:
  // `tty`: stderr is a terminal (the progress bar and event lines go there).
  ConsoleObserver(bool quiet, bool tty);

  void on_run_begin(const RunInfo& info) override;
  void on_step(const StepInfo& step) override;
  void on_epoch(const EpochInfo& epoch) override;
  void on_run_end(const RunEnd& end) override;

 private:
  using Clock = std::chrono::steady_clock;
  void clear_bar() const;
  bool quiet_, tty_;
  RunInfo info_;
  Clock::time_point start_, last_redraw_;
  std::size_t event_lines_ = 0;
};

}  // namespace keel
