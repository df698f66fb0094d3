// Entry point of the optimizer plugin: per-parameter update rules with the
// regularization and gradient clipping a stable training run needs.
#include "optimizer_ops.hpp"

KEEL_DEFINE_REGISTER(register_ops, keel::optimizer, KEEL_OPTIMIZER_OPS)

KEEL_PLUGIN("optimizer", "1.0.0", register_ops)
