// train.samples: after each epoch, a sampling graph (digits_vae_sample.yaml:
// noise through the decoder) runs with the parameters trained so far,
// matched by name, and the output its `images:` entry draws is written as
// DIR/samples/epoch-NNN.png. An observer: it reads the training plan's
// parameters and changes nothing of the run.
#pragma once

#include <filesystem>
#include <memory>

#include "graph/train_def.hpp"
#include "planner/plan.hpp"
#include "registry/registry.hpp"
#include "training/train_observer.hpp"

namespace keel {

// The checks of the constructor below that need no data, for `keel
// validate` and check_train: keel::Error (usage) at train.samples.
void check_samples(const Plan& training, const Registry& registry, const SamplesDef& def);

class SampleGridObserver : public TrainObserver {
 public:
  // Loads and checks the sampling graph before the first step: keel::Error
  // (usage) for a graph with inputs or without an `images:` entry, or whose
  // parameters the training graph does not have with the same shapes.
  // `training` must have its parameters allocated (the Trainer binds it).
  SampleGridObserver(const Plan& training, const Registry& registry, const SamplesDef& def,
                     const std::filesystem::path& output_dir);
  ~SampleGridObserver() override;

  void on_epoch(const EpochInfo& e) override;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace keel
