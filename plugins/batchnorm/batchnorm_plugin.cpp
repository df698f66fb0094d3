// Entry point of the batchnorm plugin: the normalization layers that keep
// activations in a stable range while a model trains.
#include "batchnorm_ops.hpp"

KEEL_DEFINE_REGISTER(register_ops, keel::norm, KEEL_NORM_OPS)

KEEL_PLUGIN("batchnorm", "1.0.0", register_ops)
