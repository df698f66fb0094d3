// Registration of the nn plugin's layer ops.
#include "nn_ops.hpp"

namespace keel::nn {

void register_layer_ops(Registrar&) {}

}  // namespace keel::nn
