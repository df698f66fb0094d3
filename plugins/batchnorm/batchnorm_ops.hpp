// The batchnorm plugin's ops, its one registration list (common/op_list.hpp).
#pragma once

#include "common/op_list.hpp"

#define KEEL_NORM_OPS(X) X(batchnorm) X(layernorm)

namespace keel::norm {
KEEL_NORM_OPS(KEEL_DECLARE_OP)
}  // namespace keel::norm
