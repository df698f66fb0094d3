// train.calibrate: statistics of the training rows measured before the
// first step, into the parameters whose schema declares one
// (ParamSpec::statistic, keel/schema.hpp).
#pragma once

#include <string>
#include <vector>

#include "graph/train_def.hpp"
#include "planner/plan.hpp"
#include "runtime/dataset.hpp"

namespace keel {

// Fills node `node`'s statistic parameters from `rows` of `data`, which its
// input 0 (an f32 [rows, features] graph input) reads. keel::Error (usage)
// for a node that is missing, reads no graph input, declares no statistic,
// or whose statistics are not sized one per feature.
void calibrate(Plan& plan, const Dataset& data, const std::vector<std::size_t>& rows, const std::string& node,
               const TrainDef& def);

}  // namespace keel
