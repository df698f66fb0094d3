// Entry point of the nn plugin: the basic differentiable building blocks.
#include "nn_ops.hpp"

KEEL_DEFINE_REGISTER(register_ops, keel::nn, KEEL_NN_OPS)

KEEL_PLUGIN("nn", "1.0.0", register_ops)
