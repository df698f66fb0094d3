// Entry point of the generative plugin: the latent-variable and noise ops a
// variational autoencoder and a generative adversarial network need.
#include "generative_ops.hpp"

KEEL_DEFINE_REGISTER(register_ops, keel::generative, KEEL_GENERATIVE_OPS)

KEEL_PLUGIN("generative", "1.0.0", register_ops)
