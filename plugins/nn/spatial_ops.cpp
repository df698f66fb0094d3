// Registration of the nn plugin's spatial ops.
#include "nn_ops.hpp"

namespace keel::nn {

void register_spatial_ops(Registrar&) {}

}  // namespace keel::nn
