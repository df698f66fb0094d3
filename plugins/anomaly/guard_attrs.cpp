#include "anomaly_ops.hpp"

namespace keel::anomaly {

std::vector<AttrSpec> guard_attrs() {
  std::vector<std::string> actions;
  for (GuardAction a : kGuardActions) actions.push_back(guard_action_name(a));
  return {
      AttrSpec{.name = "action",
               .type = AttrType::String,
               .doc = "what the engine does when the check fires: report (log it), mask (log it; the mask "
                      "output marks the rows for downstream use), skip_step (training: that step's updates "
                      "are not applied), rollback (training: restore the last good parameters and optimizer "
                      "state, times lr_factor on the learning rate), abort (stop with exit code 3)",
               .default_value = AttrValue{std::string("report")},
               .choices = actions},
      AttrSpec{.name = "lr_factor",
               .type = AttrType::Float,
               .doc = "rollback: the learning rate is multiplied by this after each rollback",
               .default_value = AttrValue{1.0},
               .min = 1e-6,
               .max = 1.0},
  };
}

std::vector<PortSpec> guard_outputs() {
  return {{"flag", "f32 scalar: 1 when the check fired on this run, else 0", false},
          {"score", "f32 scalar: the statistic compared with the limit (see check)", false},
          {"limit", "f32 scalar: the threshold the score was compared with", false},
          {"mask", "f32 [rows]: 1 for each flagged row (rows = the first axis; [1] for a scalar)", false}};
}

}  // namespace keel::anomaly
