// Registration of the nn plugin's layer ops.
#include "layer_ops.hpp"

#include "nn_ops.hpp"

namespace keel::nn {

void register_layer_ops(Registrar& r) {
  r.add(linear_schema(), make_linear);
  r.add(leaky_relu_schema(), make_leaky_relu);
  r.add(gelu_schema(), make_gelu);
  r.add(tanh_schema(), make_tanh);
  r.add(sigmoid_schema(), make_sigmoid);
  r.add(softmax_schema(), make_softmax);
  r.add(flatten_schema(), make_flatten);
  r.add(reshape_schema(), make_reshape);
}

}  // namespace keel::nn
