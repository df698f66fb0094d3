// Entry point of the batchnorm plugin: the normalization layers that keep
// activations in a stable range while a model trains.
#include "batchnorm_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::norm;
  r.add(batchnorm_schema(), make_batchnorm);
  r.add(layernorm_schema(), make_layernorm);
}

}  // namespace

KEEL_PLUGIN("batchnorm", "1.0.0", register_ops)
