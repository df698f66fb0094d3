// Entry point of the nn plugin: the basic differentiable building blocks.
#include "nn_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::nn;
  r.add(add_schema(), make_add);
  r.add(mul_schema(), make_mul);
  r.add(scale_schema(), make_scale);
  r.add(relu_schema(), make_relu);
  r.add(matmul_schema(), make_matmul);
  register_layer_ops(r);
  register_loss_ops(r);
  register_spatial_ops(r);
}

}  // namespace

KEEL_PLUGIN("nn", "1.0.0", register_ops)
