// Registration of the nn plugin's spatial ops.
#include "nn_ops.hpp"
#include "spatial_ops.hpp"

namespace keel::nn {

void register_spatial_ops(Registrar& r) {
  r.add(conv2d_schema(), make_conv2d);
  r.add(global_avg_pool_schema(), make_global_avg_pool);
}

}  // namespace keel::nn
