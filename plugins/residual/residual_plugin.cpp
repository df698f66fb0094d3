// Entry point of the residual plugin: skip connections, with an optional
// learned projection and gain, and a whole bottleneck block as one op.
#include "residual_ops.hpp"

KEEL_DEFINE_REGISTER(register_ops, keel::residual, KEEL_RESIDUAL_OPS)

KEEL_PLUGIN("residual", "1.0.0", register_ops)
