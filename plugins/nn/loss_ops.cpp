// Registration of the nn plugin's loss ops.
#include "nn_ops.hpp"

namespace keel::nn {

void register_loss_ops(Registrar&) {}

}  // namespace keel::nn
