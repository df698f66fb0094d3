// Entry point of the optimizer plugin: per-parameter update rules with the
// regularization and gradient clipping a stable training run needs.
#include "optimizer_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::optimizer;
  r.add(sgd_schema(), make_sgd);
  r.add(adam_schema(), make_adam);
  r.add(adamw_schema(), make_adamw);
}

}  // namespace

KEEL_PLUGIN("optimizer", "1.0.0", register_ops)
