// The optimizer plugin's update rules, its one registration list
// (common/op_list.hpp).
#pragma once

#include "common/op_list.hpp"

#define KEEL_OPTIMIZER_OPS(X) X(sgd) X(adam) X(adamw)

namespace keel::optimizer {
KEEL_OPTIMIZER_OPS(KEEL_DECLARE_OP)
}  // namespace keel::optimizer
