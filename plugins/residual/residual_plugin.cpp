// Entry point of the residual plugin: skip connections, with an optional
// learned projection and gain, and a whole bottleneck block as one op.
#include "residual_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::residual;
  r.add(residual_schema(), make_residual);
  r.add(residual_block_schema(), make_residual_block);
}

}  // namespace

KEEL_PLUGIN("residual", "1.0.0", register_ops)
