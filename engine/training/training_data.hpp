// The rows a training run reads, prepared before the first step: train.data
// loaded and checked against the graph (bindings, dtypes, class labels), the
// hold-out rows (a seeded fraction, or a separate source), and how each
// epoch is cut into batches. Every problem here is a usage error (exit 2)
// raised before anything is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/train_def.hpp"
#include "planner/plan.hpp"
#include "runtime/dataset.hpp"

namespace keel {

struct TrainingData {
  Dataset data;                     // train.data's rows
  std::optional<Dataset> separate;  // holdout: {csv: ...} or {npy: ...}
  Split split;                      // train: rows of `data`; holdout: rows of holdout_data()
  std::int64_t batches_per_epoch = 0;

  const Dataset& holdout_data() const { return separate ? *separate : data; }
  // The hold-out rows were drawn from train.data (so DIR/holdout/rows.npy says which).
  bool holdout_is_fraction() const { return !separate && !split.holdout.empty(); }
};

// Loads and checks train.data for the plan (after infer_symbolic) whose loss
// is the value in `loss_slot`.
TrainingData load_training_data(const Plan& plan, const DataDef& data, int loss_slot);

// The labels a loss can take: the loss op declares Role::loss with
// Metric::accuracy, and the node reads an integer graph input of shape
// [batch] beside a float [batch, C] input with C known, so labels are class
// indices in [0, C). classes == 0: no such loss.
struct LabelRange {
  std::string input;  // the graph input holding the labels
  std::int64_t classes = 0;
  std::string node;  // the loss node, for messages
};
LabelRange label_range(const Plan& plan, int loss_slot);

// Whether an op of the graph normalizes with the statistics of its batch in
// training, so a batch of one row cannot be trained on. By op name today
// (batchnorm); a role declared in the op's schema would replace the list.
bool uses_batch_statistics(const ValidatedGraph& graph);

// Batches in an epoch of `rows` rows: ceil(rows / batch), less a last
// partial batch when it is dropped. drop_last unset: dropped when it has a
// single row and `batch_statistics` holds.
std::int64_t batches_per_epoch(std::size_t rows, std::int64_t batch, std::optional<bool> drop_last,
                               bool batch_statistics);

// Whether training measures parameter `name` before the first step
// (train.calibrate: a parameter of a listed node whose schema declares a
// statistic), so that a --params checkpoint may leave it out.
bool filled_by_calibration(const ValidatedGraph& graph, const std::string& name);

// Tensors for the graph's inputs, in declaration order, from `rows` of a
// dataset whose inputs may be listed in another order; keel::Error (usage)
// at `where` for a graph input the data does not provide.
std::vector<Tensor> batch_inputs(const ValidatedGraph& graph, const Dataset& data,
                                 const std::vector<std::size_t>& rows, const Loc& where);

// DIR/holdout/rows.npy: the hold-out rows' indices (i64, ascending) into the
// data file's rows (0 = the first data row).
void write_holdout_rows(const std::filesystem::path& file, const std::vector<std::size_t>& rows);

}  // namespace keel
