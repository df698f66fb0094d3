// Registration of the nn plugin's loss ops.
#include "loss_ops.hpp"

#include "nn_ops.hpp"

namespace keel::nn {

void register_loss_ops(Registrar& r) {
  r.add(mse_schema(), make_mse);
  r.add(softmax_cross_entropy_schema(), make_softmax_cross_entropy);
  r.add(dropout_schema(), make_dropout);
  r.add(standardize_schema(), make_standardize);
}

}  // namespace keel::nn
