// Entry point of the anomaly plugin: declarative guards for training
// (non-finite losses, exploding or vanishing gradients, loss spikes) and
// screening for inference (inputs unlike the training data).
#include "anomaly_ops.hpp"

KEEL_DEFINE_REGISTER(register_ops, keel::anomaly, KEEL_ANOMALY_OPS)

KEEL_PLUGIN("anomaly", "1.0.0", register_ops)
