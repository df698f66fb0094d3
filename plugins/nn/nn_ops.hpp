// The operators of the nn plugin, one schema and one factory each, so that
// the plugin entry point and the tests register and build them alike.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::nn {

OpSchema add_schema();
std::unique_ptr<Op> make_add(const Attrs& attrs);
OpSchema mul_schema();
std::unique_ptr<Op> make_mul(const Attrs& attrs);

OpSchema scale_schema();
std::unique_ptr<Op> make_scale(const Attrs& attrs);
OpSchema relu_schema();
std::unique_ptr<Op> make_relu(const Attrs& attrs);

OpSchema matmul_schema();
std::unique_ptr<Op> make_matmul(const Attrs& attrs);

// Op families with many ops register themselves; each is defined in the
// family's sources (layer.cmake, loss.cmake, spatial.cmake).
void register_layer_ops(Registrar& r);    // linear, activations, softmax, flatten, reshape
void register_loss_ops(Registrar& r);     // mse, softmax_cross_entropy, dropout, standardize
void register_spatial_ops(Registrar& r);  // conv2d, global_avg_pool

}  // namespace keel::nn
