// The residual plugin's ops, its one registration list
// (common/op_list.hpp).
#pragma once

#include "common/op_list.hpp"

#define KEEL_RESIDUAL_OPS(X) X(residual) X(residual_block)

namespace keel::residual {
KEEL_RESIDUAL_OPS(KEEL_DECLARE_OP)
}  // namespace keel::residual
