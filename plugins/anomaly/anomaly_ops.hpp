// The anomaly plugin's ops: guards that watch tensors (anomaly_check,
// anomaly_distance) and mask_rows, which applies a guard's row mask
// downstream. What a guard's outputs mean and how the engine acts on them
// is in docs/graph-format.md ("Guards").
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::anomaly {

OpSchema check_schema();
std::unique_ptr<Op> make_check(const Attrs& attrs);

OpSchema distance_schema();
std::unique_ptr<Op> make_distance(const Attrs& attrs);

OpSchema mask_rows_schema();
std::unique_ptr<Op> make_mask_rows(const Attrs& attrs);

// The attributes and outputs every guard op shares.
std::vector<AttrSpec> guard_attrs();
std::vector<PortSpec> guard_outputs();

}  // namespace keel::anomaly
