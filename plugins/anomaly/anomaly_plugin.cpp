// Entry point of the anomaly plugin: declarative guards for training
// (non-finite losses, exploding or vanishing gradients, loss spikes) and
// screening for inference (inputs unlike the training data).
#include "anomaly_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::anomaly;
  r.add(check_schema(), make_check);
  r.add(distance_schema(), make_distance);
  r.add(mask_rows_schema(), make_mask_rows);
}

}  // namespace

KEEL_PLUGIN("anomaly", "1.0.0", register_ops)
