// train.metrics: one JSON line per epoch (epoch, step, train_loss,
// holdout_loss and, when the loss declares a metric, train_<metric> and
// holdout_<metric>), appended to on --resume.
#pragma once

#include <filesystem>

#include "runtime/line_file.hpp"
#include "training/train_observer.hpp"

namespace keel {

class MetricsObserver final : public TrainObserver {
 public:
  // Opens (creates the folder of) `file`; emptied unless `append`.
  MetricsObserver(const std::filesystem::path& file, bool append);

  void on_run_begin(const RunInfo& info) override { metric_ = info.metric; }
  void on_epoch(const EpochInfo& epoch) override;

 private:
  LineFile file_;
  MetricKind metric_ = MetricKind::none;
};

}  // namespace keel
