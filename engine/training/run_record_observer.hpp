// DIR/run.json and DIR/steps.csv (training/run_record.hpp) as a run's
// observer: run.json is written when the observer is made (status
// "running", so a killed run's file says so) and again at the end with how
// the run ended; steps.csv gets one line per step, written out per epoch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "graph/train_def.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "training/run_record.hpp"
#include "training/train_observer.hpp"
#include "training/trainer.hpp"

namespace keel {

class RunRecordObserver final : public TrainObserver {
 public:
  // Writes DIR/run.json and opens DIR/steps.csv (appended to when the run
  // resumes), DIR being options.output_dir.
  RunRecordObserver(const Plan& plan, const Registry& registry, const TrainDef& def,
                    const TrainOptions& options, const RunInfo& info);

  void on_step(const StepInfo& step) override;
  void on_epoch(const EpochInfo&) override { steps_.flush(); }
  void on_run_end(const RunEnd& end) override;

 private:
  RunFacts facts_;
  std::filesystem::path file_;
  StepLog steps_;
  const GuardReport* guards_ = nullptr;
};

}  // namespace keel
