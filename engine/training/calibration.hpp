// train.calibrate: per-feature statistics of the training rows, written
// into the parameters whose schema declares one (ParamSpec::statistic,
// keel/schema.hpp). A node whose input 0 is a graph input is measured before
// the first step, on the data itself; a node whose input 0 is computed (a
// guard on a reconstruction error) is measured after the last step, on what
// the trained model computes for the training rows in inference mode, so
// its limits describe the model that ships.
#pragma once

#include <string>
#include <vector>

#include "executor/executor.hpp"
#include "graph/train_def.hpp"
#include "planner/plan.hpp"
#include "runtime/dataset.hpp"

namespace keel {

// Whether `node` (a name in train.calibrate) is measured after training:
// its input 0 is not a graph input. keel::Error (usage) when no node has
// that name.
bool calibrated_after_training(const Plan& plan, const std::string& node, const TrainDef& def);

// Before the first step: fills node `node`'s statistic parameters from
// `rows` of `data`, which its input 0 (an f32 [rows, features] graph input)
// reads. keel::Error (usage) for a node that is missing, reads no graph
// input, declares no statistic, or whose statistics are not sized one per
// feature.
void calibrate(Plan& plan, const Dataset& data, const std::vector<std::size_t>& rows, const std::string& node,
               const TrainDef& def);

// After the last step: runs the graph in inference mode on `inputs` (the
// training rows) and fills the statistic parameters of each node in
// `nodes` from the value its input 0 holds, f32 [rows] or [rows, features].
void calibrate_trained(Plan& plan, Executor& exec, const std::vector<Tensor>& inputs,
                       const std::vector<std::string>& nodes, const TrainDef& def);

}  // namespace keel
