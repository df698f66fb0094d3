// Whether a checkpoint given to --resume continues this run.
#pragma once

#include <cstdint>

#include "graph/train_def.hpp"
#include "graph/validate.hpp"
#include "training/checkpoint.hpp"
#include "training/trainer.hpp"

namespace keel {

// keel::Error (usage) naming the checkpoint when it was not written by a
// training run of this graph, or (unless options.allow_resume_mismatch)
// with another seed or batch size, or at a position this data cannot reach.
void check_resume(const CheckpointInfo& info, const ValidatedGraph& graph, const TrainDef& def,
                  std::int64_t batches_per_epoch, const TrainOptions& options);

}  // namespace keel
