#include "training/resume_check.hpp"

#include "base/error.hpp"

namespace keel {

// A checkpoint continues the run that wrote it: another graph, a data
// order from another seed or batches of another size would silently train
// something else than either run describes.
void check_resume(const CheckpointInfo& info, const ValidatedGraph& graph, const TrainDef& def,
                  std::int64_t batches_per_epoch, const TrainOptions& options) {
  const SourceLoc where{options.resume.string(), 0, 0};
  if (!info.has_format)
    throw usage_error(
        "not a Keel training checkpoint (no format metadata): --resume continues a run from "
        "the checkpoint it wrote; to start from these parameters, use --params",
        where);
  if (info.graph != graph.def.name)
    throw usage_error("the checkpoint was written by graph '" + printable(info.graph) + "', not '" +
                          printable(graph.def.name) + "'",
                      where);
  if (info.position.batch > batches_per_epoch)
    throw usage_error("the checkpoint's position (batch " + std::to_string(info.position.batch) +
                          " of epoch " + std::to_string(std::uint64_t(info.position.epoch) + 1) +
                          ") lies past the end of an epoch, which has " + std::to_string(batches_per_epoch) +
                          " batches with this data",
                      where);
  if (options.allow_resume_mismatch) return;
  if (info.seed && *info.seed != graph.def.seed)
    throw usage_error("the checkpoint was trained with seed " + std::to_string(*info.seed) +
                          ", this run has " + std::to_string(graph.def.seed) +
                          " (a different data order); pass --allow-resume-mismatch to continue anyway",
                      where);
  if (info.batch_size && *info.batch_size != def.data.batch)
    throw usage_error("the checkpoint was trained with batch " + std::to_string(*info.batch_size) +
                          ", this run has " + std::to_string(def.data.batch) +
                          "; pass --allow-resume-mismatch to continue anyway",
                      where);
  // With the same data and batch size every step is one batch of one epoch.
  const auto& at = info.position;
  if (at.epoch < 0 || at.batch < 0 || batches_per_epoch <= 0 ||
      std::uint64_t(at.epoch) > at.step / std::uint64_t(batches_per_epoch) ||
      at.step != std::uint64_t(at.epoch) * std::uint64_t(batches_per_epoch) + std::uint64_t(at.batch))
    throw usage_error("the checkpoint's position (step " + std::to_string(at.step) + ", epoch " +
                          std::to_string(std::uint64_t(at.epoch) + 1) + ", batch " +
                          std::to_string(at.batch) + ") does not fit this data, which makes " +
                          std::to_string(batches_per_epoch) + " batches an epoch",
                      where);
}

}  // namespace keel
