// The anomaly plugin's ops, its one registration list (common/op_list.hpp):
// guards that watch tensors (check, distance) and mask_rows, which applies a
// guard's row mask downstream. What a guard's outputs mean and how the
// engine acts on them is in docs/graph-format.md ("Guards").
#pragma once

#include <vector>

#include "common/op_list.hpp"

#define KEEL_ANOMALY_OPS(X) X(check) X(distance) X(mask_rows) X(row_distance)

namespace keel::anomaly {
KEEL_ANOMALY_OPS(KEEL_DECLARE_OP)

// The attributes and outputs every guard op shares.
std::vector<AttrSpec> guard_attrs();
std::vector<PortSpec> guard_outputs();
}  // namespace keel::anomaly
